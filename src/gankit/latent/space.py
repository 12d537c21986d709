"""What a latent search needs from a trained model, for every family that generates from a
latent: where a search starts, the images a latent makes (with gradients), the discriminator's
features (for feature matching) and its judgement of realness (the prior of inpainting).

GAN, WGAN, WGAN-GP, AnoGAN, f-AnoGAN, EGBAD and ALAD search their generator's z (the EMA copy when the
run keeps one: the `LatentGenerator` contract); GANomaly its decoder's
z (the latent its encoder produces); StyleGAN z, w (one style for every layer) or w+ (one per
layer), with the EMA generator and its per-layer noise maps, as StyleGAN2's projector does.

    space = latent_space(gankit.load("runs/style"), "w+")
    latent, noise = space.start(8, torch.Generator().manual_seed(0))   # [8, L, w_dim], maps
    images = space.generate(latent, noise)                              # [8, C, H, W]
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError

SPACES = ("z", "w", "w+")


def model_name(model) -> str:
    return getattr(getattr(model, "run_config", None), "model_name", type(model).__name__)


class DCGANSpace:
    """z of a DCGAN-style generator: a ``LatentGenerator`` of the GAN family or a detector, or
    GANomaly's decoder (GANomaly declares no latent job: its z comes from its encoder)."""

    name = "z"

    def __init__(self, model) -> None:
        from gankit.models.alad.model import ALAD
        from gankit.models.egbad.networks import JointDiscriminator
        from gankit.models.gan.model import GAN
        from gankit.models.ganomaly.model import GANomaly
        from gankit.models.wgan.model import WGAN

        self.model = model
        self.decoder = model.generator.decoder if isinstance(model, GANomaly) else None
        self.discriminator = model.discriminator_xz if isinstance(model, ALAD) else model.discriminator
        self.joint = isinstance(self.discriminator, JointDiscriminator)  # D(x, z): image and latent together
        self.critic = isinstance(model, WGAN)  # a Wasserstein critic's score, not a logit
        self.pack = model.config.pack if isinstance(model, GAN) else 1  # examples per discriminator input

    def start(self, n: int, generator: torch.Generator, restart: int = 0) -> tuple[Tensor, list[Tensor]]:
        if self.decoder is None:
            return self.model.draw_latents(n, "z", generator), []
        return self.model.latent(n, self.model.config.latent_dim, generator), []

    def generate(self, latent: Tensor, noise: list[Tensor]) -> Tensor:
        # The generator sample() uses (the EMA copy when the run keeps one).
        return self.model.generate(latent, "z") if self.decoder is None else self.decoder(latent)  # [N, C, H, W]

    def features(self, x: Tensor) -> Tensor:
        self.check_single_examples("has no features of one image: set the feature weight to 0 (--feature-weight 0)")
        return (self.discriminator.image if self.joint else self.discriminator).features(x)  # [N, F]

    def unrealness(self, x: Tensor, latent: Tensor) -> Tensor:
        """[N], lower = more real to the discriminator: log(1 - D) in its non-saturating form, or -critic."""
        self.check_single_examples("cannot judge one image: set the prior weight to 0 (--prior-weight 0)")
        score = self.discriminator(x, latent)[0] if self.joint else self.discriminator(x)
        return -score if self.critic else F.softplus(-score)


    def check_single_examples(self, consequence: str) -> None:
        """A packed discriminator (PacGAN) judges m examples at once, never one image alone."""
        if self.pack > 1:
            raise GankitError(f"this {model_name(self.model)} run's discriminator judges packs of {self.pack} "
                              f"examples (model.pack={self.pack}), so it {consequence}")


class StyleSpace:
    """z, w or w+ of StyleGAN's EMA generator, with its noise maps searched too."""

    def __init__(self, model, name: str) -> None:
        model.check_space(name)
        self.model, self.name = model, name
        network = model.generator_network()  # the EMA generator
        self.synthesis, self.mapping = network.synthesis, network.mapping

    def start(self, n: int, generator: torch.Generator, restart: int = 0) -> tuple[Tensor, list[Tensor]]:
        """z ~ N(0, I); w and w+ start at the mean w (as the projector does), later restarts at the
        w of a random z, so that restarts explore."""
        model = self.model
        z = model.latent(n, model.config.latent_dim, generator)
        noise = self.synthesis.make_noise(n, generator, model.device)
        if self.name == "z":
            return z, noise
        with torch.no_grad():
            w = model.w_avg.expand(n, -1).clone() if restart == 0 else self.mapping(z)  # [N, w_dim]
        return (w if self.name == "w" else model.broadcast(w)), noise

    def styles(self, latent: Tensor) -> Tensor:
        """[N, L, w_dim] from a latent of this space."""
        if self.name == "w+":
            return latent
        return self.model.broadcast(self.mapping(latent) if self.name == "z" else latent)

    def generate(self, latent: Tensor, noise: list[Tensor]) -> Tensor:
        return self.synthesis(self.styles(latent), noise)  # [N, C, H, W], linear output

    def features(self, x: Tensor) -> Tensor:
        return self.model.discriminator.features(x)

    def unrealness(self, x: Tensor, latent: Tensor) -> Tensor:
        with one_image_groups(self.model.discriminator):
            return F.softplus(-self.model.discriminator(x))


@contextmanager
def one_image_groups(discriminator: nn.Module) -> Iterator[None]:
    """Minibatch standard deviation over groups of one image: the discriminator's judgement of
    each image no longer depends on the others in the batch (its stddev feature is then constant),
    so a batched search equals an image-by-image one."""
    group = discriminator.mbstd_group
    discriminator.mbstd_group = 1
    try:
        yield
    finally:
        discriminator.mbstd_group = group


def style_based(model) -> bool:
    """A StyleGAN: a mapping network to w, per-layer styles and noise maps."""
    from gankit.capabilities import StyleSynthesizer

    return isinstance(model, StyleSynthesizer)


def default_space(model) -> str:
    """w for a style-based generator (the projector's choice), else z."""
    return "w" if style_based(model) else "z"


def latent_space(model, space: str = "z"):
    """The search space ``space`` of ``model``, or a one-line error naming what the model can do."""
    from gankit.capabilities import LatentGenerator
    from gankit.models.ganomaly.model import GANomaly

    if space not in SPACES:
        raise GankitError(f"unknown latent space {space!r}; valid: {', '.join(SPACES)}")
    name = model_name(model)
    if not getattr(model, "is_image_model", False):
        raise GankitError(f"latent search works on images; this {name} run makes examples of shape {model.data_shape}")
    if style_based(model):
        return StyleSpace(model, space)
    if not isinstance(model, (LatentGenerator, GANomaly)):
        raise GankitError(f"{name} models have no generator of a latent to search (they "
                          f"{', '.join(model.capabilities())}); use gan, wgan, wgan_gp, stylegan, anogan, "
                          "egbad, ganomaly, fanogan or alad")
    if space != "z":
        raise GankitError(f"--space {space} needs a style-based generator (stylegan); {name} models have only z")
    return DCGANSpace(model)
