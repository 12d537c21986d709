"""An exponential moving average of a generator's weights (Karras et al. 2018; StyleGAN2-ADA's
``ema_kimg``), whose samples are smoother and steadier than the live generator's.

The decay is set by a half-life counted in images, so it means the same at every batch size;
early in training the half-life is capped at a fraction of the images seen so far, so the
average does not drag the first random weights along.

    beta = ema_beta(batch_images=64, half_life_kimg=10.0, images_seen=6400, rampup=0.05)
    update_ema(generator_ema, generator, beta)
"""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(batch_images: int, half_life_kimg: float, images_seen: int, rampup: float | None) -> float:
    """The decay per update for a half-life of ``half_life_kimg`` thousand images."""
    half_life = half_life_kimg * 1000
    if rampup is not None:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch_images / max(half_life, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, live: nn.Module, beta: float) -> None:
    """Move ``ema``'s parameters towards ``live``'s; buffers (batch-norm statistics) are copied,
    as an average of running averages would lag twice."""
    for average, current in zip(ema.parameters(), live.parameters()):
        average.lerp_(current, 1 - beta)
    for average, current in zip(ema.buffers(), live.buffers()):
        average.copy_(current)
