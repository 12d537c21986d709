"""The one batched latent search, shared by AnoGAN's scores, projection (GAN inversion) and
inpainting: Adam moves a batch of latents (and, for StyleGAN, its noise maps) to minimise a
per-image objective, with the learning-rate schedule and noise regularisation of StyleGAN2's
projector ("Analyzing and Improving the Image Quality of StyleGAN", Karras et al. 2020, and its
ADA code), and random restarts that keep each image's best result.

The per-image losses are summed before differentiation, so each latent gets exactly its own
gradient, and Adam's update is per element: a batch gives the same result as one image at a time,
at a fraction of the cost (as long as the objective treats images independently: networks in
eval mode).

    objective = lambda z, noise: ((generator(z) - x).abs().flatten(1).mean(1), generator(z))
    result = latent_search(objective, lambda restart: (torch.randn(n, 64), []), SearchOptions(steps=200))
    result.latent, result.loss        # [N, 64], [N]: the best restart's latent and loss per image
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Adam
from tqdm.auto import tqdm

from gankit.errors import GankitError

# (latent [N, ...], noise maps [N, 1, R, R] each) -> (loss [N], generated images [N, C, H, W])
Objective = Callable[[Tensor, list[Tensor]], tuple[Tensor, Tensor]]
# restart index -> (initial latent, initial noise maps)
Start = Callable[[int], tuple[Tensor, list[Tensor]]]


@dataclass
class SearchOptions:
    steps: int = 500
    lr: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's (the projector's and AnoGAN's)
    lr_rampup: float = 0.0  # fraction of the steps over which the rate rises linearly from 0 (projector: 0.05)
    lr_rampdown: float = 0.0  # fraction of the last steps over which it falls to 0 along a cosine (projector: 0.25)
    restarts: int = 1  # independent searches from different starts; each image keeps its best
    noise_regularization: float = 0.0  # weight of the noise maps' autocorrelation penalty (projector: 1e5)
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise GankitError(f"search steps must be >= 0, got {self.steps}")
        if not self.lr > 0:
            raise GankitError(f"the search learning rate must be > 0, got {self.lr}")
        if self.restarts < 1:
            raise GankitError(f"restarts must be >= 1, got {self.restarts}")
        for name in ("lr_rampup", "lr_rampdown"):
            if not 0 <= getattr(self, name) <= 1:
                raise GankitError(f"{name} is a fraction of the steps in [0, 1], got {getattr(self, name)}")
        if self.noise_regularization < 0:
            raise GankitError(f"noise_regularization must be >= 0, got {self.noise_regularization}")

    def rate(self, step: int) -> float:
        """The learning rate at ``step``: ramp up, hold, cosine ramp down (1x when both are 0)."""
        t = step / max(self.steps, 1)
        scale = 1.0
        if self.lr_rampdown > 0:
            scale = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1.0 - t) / self.lr_rampdown))
        if self.lr_rampup > 0:
            scale *= min(1.0, t / self.lr_rampup)
        return self.lr * scale


def projector_options(**changes) -> SearchOptions:
    """StyleGAN2-ADA projector's schedule (ramp up over 5% of the steps, cosine down over the last
    25%, lr 0.1, noise penalty 1e5), the defaults of projection and inpainting, with fewer steps
    than its 1000: small generators converge sooner."""
    defaults = dict(steps=300, lr=0.1, lr_rampup=0.05, lr_rampdown=0.25, noise_regularization=1e5)
    return SearchOptions(**{**defaults, **changes})


@dataclass
class SearchResult:
    latent: Tensor  # [N, ...] each image's best latent
    loss: Tensor  # [N] its objective (without the noise penalty)
    images: Tensor  # [N, C, H, W] what the generator makes of it
    noise: list[Tensor] = field(default_factory=list)  # [N, 1, R, R] per noise map (StyleGAN)
    restart: Tensor | None = None  # [N] the restart each image kept


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Eval mode (batch norm's running statistics: images stay independent) and no parameter
    gradients, so that a search moves its latents only and leaves the model as it was."""
    was_training = module.training
    flags = [p.requires_grad for p in module.parameters()]
    module.eval().requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(module.parameters(), flags):
            parameter.requires_grad_(flag)
        module.train(was_training)


def noise_penalty(noise: list[Tensor]) -> Tensor:
    """Per image [N]: squared autocorrelation of every noise map with itself shifted by one pixel,
    at every scale down to 8x8, so that the maps cannot smuggle the image in as structured noise
    (StyleGAN2's projector)."""
    total = noise[0].new_zeros(noise[0].shape[0])
    for maps in noise:  # [N, 1, R, R]
        while True:
            for dim in (2, 3):
                total = total + (maps * maps.roll(1, dims=dim)).mean((1, 2, 3)).square()
            if maps.shape[-1] <= 8:
                break
            maps = F.avg_pool2d(maps, 2)
    return total


@torch.no_grad()
def _normalize(noise: list[Tensor]) -> None:
    """Each map back to zero mean and unit variance, per image, as the synthesis network expects."""
    for maps in noise:
        maps -= maps.mean((1, 2, 3), keepdim=True)
        maps *= maps.square().mean((1, 2, 3), keepdim=True).rsqrt()


def _search_once(objective: Objective, latent: Tensor, noise: list[Tensor], options: SearchOptions, bar) -> SearchResult:
    latent = latent.detach().clone().requires_grad_(True)
    noise = [m.detach().clone().requires_grad_(True) for m in noise]
    variables = [latent, *noise]
    optimizer = Adam(variables, lr=options.lr, betas=options.betas)
    penalize = bool(noise) and options.noise_regularization > 0
    with torch.enable_grad():
        for step in range(options.steps):
            for group in optimizer.param_groups:
                group["lr"] = options.rate(step)
            loss, _ = objective(latent, noise)
            total = loss.sum()
            if penalize:
                total = total + options.noise_regularization * noise_penalty(noise).sum()
            # The sum's gradient w.r.t. image i's variables is image i's own gradient.
            gradients = torch.autograd.grad(total, variables)
            for variable, gradient in zip(variables, gradients):
                variable.grad = gradient
            optimizer.step()
            if noise:
                _normalize(noise)
            bar.update(1)
    with torch.no_grad():
        loss, images = objective(latent, noise)
    return SearchResult(latent.detach(), loss.detach(), images.detach(), [m.detach() for m in noise])


def latent_search(objective: Objective, start: Start, options: SearchOptions) -> SearchResult:
    """Minimise ``objective`` from ``options.restarts`` starts; per image, the restart with the
    lowest final loss wins. The objective must treat images independently (see the module)."""
    best: SearchResult | None = None
    bar = tqdm(total=options.steps * options.restarts, disable=not options.progress, unit="step",
               desc="latent search", dynamic_ncols=True, leave=False)
    with bar:
        for restart in range(options.restarts):
            latent, noise = start(restart)
            result = _search_once(objective, latent, noise, options, bar)
            result.restart = torch.full_like(result.loss, restart, dtype=torch.long)
            best = result if best is None else _keep_better(best, result)
    return best


def _keep_better(best: SearchResult, new: SearchResult) -> SearchResult:
    better = new.loss < best.loss  # [N]

    def pick(old: Tensor, candidate: Tensor) -> Tensor:
        return torch.where(better.view(-1, *[1] * (old.dim() - 1)), candidate, old)

    return SearchResult(
        pick(best.latent, new.latent), pick(best.loss, new.loss), pick(best.images, new.images),
        [pick(a, b) for a, b in zip(best.noise, new.noise)], pick(best.restart, new.restart),
    )


def restart_generator(seed: int, restart: int) -> torch.Generator:
    """The CPU generator of one restart's start: a seed gives the same starts on every device."""
    return torch.Generator().manual_seed(seed * 1_000_003 + restart)
