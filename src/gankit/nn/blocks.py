"""Small layers shared across variants."""

from __future__ import annotations

from typing import Literal

from torch import nn

Norm = Literal["batch", "instance", "layer", "none"]


def norm2d(kind: Norm, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name.

    ``layer`` is GroupNorm with one group: it normalises each example over
    (C, H, W), the batch-independent choice WGAN-GP recommends for critics.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; valid: batch, instance, layer, none")


def dcgan_base_size(image_size: int) -> tuple[int, int]:
    """Split ``image_size`` into base * 2**doublings with 3 <= base <= 7.

    DCGAN networks grow a small base grid by doubling (4 -> 8 -> 16 -> 32 for
    32 px, 7 -> 14 -> 28 for MNIST's 28 px).
    """
    base, doublings = image_size, 0
    while base > 7 and base % 2 == 0:
        base //= 2
        doublings += 1
    if base < 3 or base > 7 or doublings == 0:
        raise ValueError(
            f"DCGAN networks need an image size of base * 2^k with base 3..7 (8, 16, 28, 32, 64, ...), "
            f"got {image_size}"
        )
    return base, doublings
