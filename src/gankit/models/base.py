"""The model contract: every variant owns its networks, optimizers and update order.

The shared loop (``training/loop.py``) only calls ``configure_optimizers``
once and ``train_step`` per batch; everything a variant does within one batch
(k critic updates, gradient penalties, EMA, image pools) lives in its
``train_step``. Capabilities (``sample``, ``translate``, ``anomaly_score``)
are plain methods that a variant defines when it can do that job. Updates go
through ``optimize(loss, name)``, which applies the loop's precision mode
(fp16 loss scaling); under torchrun the loop swaps DDP wrappers in for the
trained networks during ``train_step`` (``using``). A variant
that must act once training ends (calibrating anomaly scores on held-out
normal data) defines ``on_train_end(context)``; the loop calls it before the
final checkpoint, which therefore holds whatever the hook stored in buffers.

    model = MODELS["gan"](GANConfig(), data_shape=(1, 16, 16))
    model.optimizers = model.configure_optimizers()
    logs = model.train_step((x, y), step=0)   # {"loss_d": ..., "loss_g": ...}
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, ClassVar, Iterator

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

CAPABILITIES = ("sample", "translate", "anomaly_score")


class GANModel(nn.Module):
    """Base class of every variant; see the module docstring for the contract."""

    Config: ClassVar[type]  # the variant's typed config dataclass
    description: ClassVar[str]  # one line for `gankit models`
    image_only: ClassVar[bool] = False  # True: refuses vector data (e.g. 2-D points) with a GankitError

    def __init__(self, config: Any, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.config = config
        self.data_shape = tuple(data_shape)
        self.optimizers: dict[str, Optimizer] = {}
        # Set by the loop for --precision 16-mixed: one loss scale per optimizer, as each network's
        # gradients overflow at their own scale.
        self.grad_scalers: dict[str, torch.amp.GradScaler] = {}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def is_image_model(self) -> bool:
        return len(self.data_shape) == 3

    def configure_optimizers(self) -> dict[str, Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        """All updates for one batch; returns detached scalars for logging."""
        raise NotImplementedError

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
        """What the loop draws every ``sample_every`` steps: [n, *data_shape]."""
        return self.sample(n, generator=generator)

    @classmethod
    def capabilities(cls) -> list[str]:
        return [name for name in CAPABILITIES if callable(getattr(cls, name, None))]

    def latent(self, n: int, dim: int, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal latents [n, dim]; drawn on the CPU when a generator is
        given so that a seed gives the same samples on every device."""
        if generator is None:
            return torch.randn(n, dim, device=self.device)
        return torch.randn(n, dim, generator=generator).to(self.device)
