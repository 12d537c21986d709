"""The model contract: every variant owns its networks, optimizers and update order.

The shared loop (``training/loop.py``) prepares a model once (``prepare_training``:
its optimizers and, for fp16, one loss scaler each) and calls ``train_step`` per
batch; everything a variant does within one batch (k critic updates, gradient
penalties, EMA, image pools) lives in its ``train_step``. The jobs a variant can
do (sample, translate, anomaly_score, latent search) are declared among its base
classes (``gankit.capabilities``). Updates go through ``optimize(loss, name)``,
which applies the loop's precision mode (fp16 loss scaling); under torchrun the
loop swaps DDP wrappers in for the trained networks during ``train_step``
(``using``). A variant that must act once training ends (calibrating anomaly
scores on held-out normal data) declares ``FinishesTraining``.

    model = MODELS["gan"](GANConfig(), data_shape=(1, 16, 16))
    model.prepare_training()
    logs = model.train_step((x, y), step=0)   # {"loss_d": ..., "loss_g": ...}
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gankit.capabilities import JOBS, LatentGenerator

if TYPE_CHECKING:
    from gankit.config import RunConfig

GradScalers = dict[str, torch.amp.GradScaler]


class GANModel(nn.Module):
    """Base class of every variant; see the module docstring for the contract."""

    Config: ClassVar[type]  # the variant's typed config dataclass
    description: ClassVar[str]  # one line for `gankit models`

    def __init__(self, config: Any, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.config = config
        self.data_shape = tuple(data_shape)
        self.optimizers: dict[str, Optimizer] = {}
        # For --precision 16-mixed: one loss scale per optimizer, as each network's gradients
        # overflow at their own scale (see prepare_training).
        self.grad_scalers: GradScalers = {}
        # The run this model belongs to and the batches it was trained on: set by the loop and by
        # gankit.load; a model built by hand has none and its steps count from 0.
        self.run_config: RunConfig | None = None
        self.step = 0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def is_image_model(self) -> bool:
        return len(self.data_shape) == 3

    @property
    def name(self) -> str:
        """The registry key of the run (the class name for a model built by hand), for messages."""
        return self.run_config.model_name if self.run_config is not None else type(self).__name__

    def configure_optimizers(self) -> dict[str, Optimizer]:
        raise NotImplementedError

    def prepare_training(self, grad_scalers: Callable[[dict[str, Optimizer]], GradScalers] | None = None) -> None:
        """The one way to make a model trainable: its optimizers, and the loss scalers that
        ``grad_scalers`` (the loop's precision) gives them; none by default (fp32, bf16)."""
        self.optimizers = self.configure_optimizers()
        self.grad_scalers = grad_scalers(self.optimizers) if grad_scalers is not None else {}

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        """All updates for one batch; returns detached scalars for logging."""
        raise NotImplementedError

    def observe_batch(self, batch: tuple[Tensor, ...]) -> None:
        """The loop shows every training batch here before ``train_step``; a variant whose
        previews need real examples (the detectors) keeps some."""

    def optimize(self, loss: Tensor, name: str) -> None:
        """One update of optimizer ``name`` from ``loss``: zero_grad, backward, step. With fp16 the
        loss is scaled first and the step skipped when the gradients overflow."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler = self.grad_scalers.get(name)
        if scaler is None:
            loss.backward()
            optimizer.step()
            return
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def trained_networks(self) -> list[str]:
        """Names of the child networks whose parameters some optimizer updates (what DDP wraps)."""
        optimized = {id(p) for optimizer in self.optimizers.values() for g in optimizer.param_groups for p in g["params"]}
        return [name for name, child in self.named_children() if any(id(p) in optimized for p in child.parameters())]

    @contextmanager
    def using(self, replacements: dict[str, nn.Module]) -> Iterator[None]:
        """Put wrappers (DDP, torch.compile) in the place of child networks for the duration of a
        ``train_step``; the plain networks stay what state_dict, sampling and checkpoints see."""
        originals = {name: self._modules[name] for name in replacements}
        self._modules.update(replacements)
        try:
            yield
        finally:
            self._modules.update(originals)

    def preview(self, n: int, generator: torch.Generator) -> Tensor:
        """What the loop draws every ``sample_every`` steps: [n, *data_shape]; samples unless
        the variant shows something else (translations, reconstructions)."""
        return self.sample(n, generator=generator)

    def preview_layout(self, count: int) -> dict[str, Any]:
        """How ``count`` preview images are tiled and labelled (``save_image_grid``'s nrow, rows,
        cols); a square, unlabelled grid of samples unless the variant shows something else."""
        return {}

    @classmethod
    def capabilities(cls) -> list[str]:
        """The user-facing jobs this variant declares (``gankit.capabilities.JOBS``)."""
        return [job.job for job in JOBS if issubclass(cls, job)]

    def latent(self, n: int, dim: int, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal latents [n, dim]; drawn on the CPU when a generator is
        given so that a seed gives the same samples on every device."""
        if generator is None:
            return torch.randn(n, dim, device=self.device)
        return torch.randn(n, dim, generator=generator).to(self.device)


class GaussianLatent(LatentGenerator):
    """The latent space of a variant whose network ``generator`` maps z ~ N(0, I) of
    ``config.latent_dim`` dimensions to examples (the DCGAN and MLP generators)."""

    generator: nn.Module

    def generator_network(self) -> nn.Module:
        return self.generator

    def draw_latents(self, n: int, space: str = "z", generator: torch.Generator | None = None) -> Tensor:
        self.check_space(space)
        return self.latent(n, self.config.latent_dim, generator)  # [n, latent_dim]

    def generate(self, latents: Tensor, space: str = "z") -> Tensor:
        self.check_space(space)
        return self.generator_network()(latents)  # [N, *data_shape]

