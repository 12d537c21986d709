"""The jobs a model can do, declared in one place.

A variant names the jobs it does among its base classes (``class GAN(GANModel,
LatentGenerator)``); callers ask ``isinstance(model, Sampler)``, never whether a
method happens to exist. Each declaration is an abstract class, so a variant
that declares a job and forgets its method fails when it is built, not when a
user first asks for the job. ``JOBS`` are the user-facing jobs that ``gankit
models`` lists; the other declarations serve tools (previews, projection,
StyleGAN's figures) and the training loop (``FinishesTraining``).

    if isinstance(model, Sampler):
        images = model.sample(16, generator=torch.Generator().manual_seed(0))
    if isinstance(model, LatentGenerator):          # projection, inpainting
        z = model.draw_latents(4, "z").requires_grad_(True)
        x = model.generate(z, "z")                  # differentiable in z
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from gankit.errors import GankitError

if TYPE_CHECKING:  # annotations only: the contracts sit below the config and data layers' users
    from gankit.config import RunConfig
    from gankit.data.dataset import Data

Direction = Literal["a2b", "b2a"]


class Sampler(ABC):
    """Draws new examples [n, *data_shape] (images in [-1, 1])."""

    job: ClassVar[str] = "sample"
    # Keyword options of sample() beyond ``generator`` (latent generators: truncation; StyleGAN adds cutoff); the CLI
    # passes a user's flag only to a model that lists it here.
    sample_options: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def sample(self, n: int, *, generator: torch.Generator | None = None, per_pass: int | None = None,
               **options: Any) -> Tensor:
        """n examples; seeded by ``generator`` (drawn on the CPU, so the same on every device). The
        random draws are made for all n first, then the generator runs on at most ``per_pass`` at a
        time (all n when None), so the examples do not depend on ``per_pass``."""


class Translator(ABC):
    """Maps images of one domain to the other (CycleGAN)."""

    job: ClassVar[str] = "translate"
    directions: ClassVar[tuple[Direction, ...]] = ("a2b", "b2a")
    side_multiple: ClassVar[int] = 1  # image sides ``translate`` takes are multiples of this (its networks' stride)

    @abstractmethod
    def translate(self, x: Tensor, direction: Direction) -> Tensor:
        """x [N, C, H, W] in [-1, 1] -> its translation, the same shape."""


@dataclass
class AnomalyOutput:
    scores: Tensor  # [N] raw scores, higher = more anomalous
    maps: Tensor  # [N, 1, H, W] per-pixel anomaly
    reconstructions: Tensor | None = None  # [N, C, H, W] the normal image the model explains x with

    def cpu(self) -> AnomalyOutput:
        return AnomalyOutput(
            self.scores.detach().cpu(),
            self.maps.detach().cpu(),
            None if self.reconstructions is None else self.reconstructions.detach().cpu(),
        )

    @staticmethod
    def cat(outputs: list[AnomalyOutput]) -> AnomalyOutput:
        recons = [o.reconstructions for o in outputs]
        return AnomalyOutput(
            torch.cat([o.scores for o in outputs]),
            torch.cat([o.maps for o in outputs]),
            None if any(r is None for r in recons) else torch.cat(recons),
        )


class AnomalyScorer(ABC):
    """Scores images: higher = more anomalous, with a per-pixel map."""

    job: ClassVar[str] = "anomaly_score"

    @abstractmethod
    def anomaly_score(self, x: Tensor) -> AnomalyOutput:
        """Images x [N, C, H, W] -> scores [N], maps [N, 1, H, W] (and reconstructions when it has them)."""


JOBS: tuple[type, ...] = (Sampler, Translator, AnomalyScorer)


class LatentGenerator(Sampler):
    """A generator that can be searched in latent space: projection of real images, inpainting,
    AnoGAN's scoring. ``latent_spaces`` names the spaces ``generate`` takes ("z" first; StyleGAN
    adds "w" and "w+"); a search starts from ``draw_latents`` and moves the latents by gradient."""

    latent_spaces: ClassVar[tuple[str, ...]] = ("z",)
    sample_options = ("truncation",)

    @abstractmethod
    def generator_network(self) -> nn.Module:
        """The network ``generate`` runs (StyleGAN: the EMA copy); freeze it for a search."""

    @abstractmethod
    def draw_latents(self, n: int, space: str = "z", generator: torch.Generator | None = None) -> Tensor:
        """n latents of ``space`` as the generator's prior draws them: [n, *latent_shape]."""

    @abstractmethod
    def generate(self, latents: Tensor, space: str = "z") -> Tensor:
        """Latents [N, ...] -> examples [N, *data_shape], differentiable in the latents (no
        no_grad, no clamping); the caller chooses train or eval mode."""

    def sample(self, n: int, *, generator: torch.Generator | None = None, per_pass: int | None = None,
               truncation: float = 1.0) -> Tensor:
        """n examples from prior latents, in eval mode (batch norm uses running statistics).
        ``truncation`` (psi) < 1 pulls every z towards the prior's mean, 0, by psi (z ~ N(0, psi^2 I)):
        the truncation trick of z-space GANs (BigGAN), trading variety for quality as StyleGAN's
        psi does in w."""
        if not math.isfinite(truncation):
            raise GankitError(f"truncation must be a finite number, got {truncation}")
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                latents = self.draw_latents(n, "z", generator)
                if truncation != 1.0:
                    latents = latents * truncation
                return torch.cat([self.generate(part, "z") for part in latents.split(per_pass or n)])
        finally:
            self.train(was_training)

    def check_space(self, space: str) -> None:
        if space not in self.latent_spaces:
            raise GankitError(f"this model's latent spaces are {', '.join(self.latent_spaces)}, not {space!r}")


class Reconstructor(ABC):
    """Reconstructs an image in one cheap pass (an encoder, then the generator); the detectors'
    previews show x beside it."""

    @abstractmethod
    def reconstruct(self, x: Tensor) -> Tensor:
        """x [N, C, H, W] -> its reconstruction, the same shape."""


class StyleSynthesizer(ABC):
    """A style-based generator (StyleGAN): per-layer styles and noise maps, for the figures of
    ``gankit style-mix``, ``interpolate`` and ``noise``."""

    num_layers: int

    @abstractmethod
    def styles(self, z: Tensor, truncation: float = 1.0, cutoff: int | None = None) -> Tensor:
        """Per-layer styles [N, num_layers, w_dim] for latents z [N, latent_dim]."""

    @abstractmethod
    def synthesize(self, ws: Tensor, noise: list[Tensor] | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Images [N, C, H, W] from styles."""

    @abstractmethod
    def make_noise(self, n: int, generator: torch.Generator | None = None, *, shared: bool = False) -> list[Tensor]:
        """One noise map [n, 1, R, R] per layer."""


@dataclass
class TrainEndContext:
    """What ``on_train_end`` gets once the budget is spent: enough to load held-out data
    (calibration) and to write files into the run."""

    config: RunConfig
    run_dir: Path
    device: torch.device
    data: Data  # the training data


class FinishesTraining(ABC):
    """Acts once the training budget is spent (not on interruption): the loop calls
    ``on_train_end`` and then writes the final checkpoint, which holds whatever it stored."""

    @abstractmethod
    def on_train_end(self, context: TrainEndContext) -> None: ...
