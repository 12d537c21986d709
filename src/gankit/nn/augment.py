"""Differentiable augmentation for the discriminator: "Differentiable Augmentation for
Data-Efficient GAN Training" (Zhao et al. 2020).

With a few hundred or thousand images the discriminator memorises the training set and
training collapses. DiffAugment applies the same random, differentiable transformations to
real and generated images before every discriminator call (in D's and G's updates, and
inside the gradient penalty and R1), so D never sees the bare training images and G still
gets gradients through the transformation.

    augment = DiffAugment("color,translation,cutout")
    logits = discriminator(augment(x))  # x [N, C, H, W] in [-1, 1], same shape out
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import GankitError

TRANSLATION_RATIO = 0.125  # shift of up to 1/8 of the image size, as in the paper
CUTOUT_RATIO = 0.5  # a square of half the image size is erased


def _rand(x: Tensor) -> Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)  # [N, 1, 1, 1]


def color(x: Tensor) -> Tensor:
    """Random brightness, saturation (colour images only) and contrast per image."""
    x = x + (_rand(x) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


def translation(x: Tensor) -> Tensor:
    """Shift each image by a random whole number of pixels (up to 1/8 of its size), filling with 0."""
    n, _, h, w = x.shape
    shift = torch.stack([
        torch.randint(-int(w * TRANSLATION_RATIO), int(w * TRANSLATION_RATIO) + 1, (n,), device=x.device),
        torch.randint(-int(h * TRANSLATION_RATIO), int(h * TRANSLATION_RATIO) + 1, (n,), device=x.device),
    ], dim=1).to(x.dtype)  # [N, 2] pixels (dx, dy)
    # An affine grid moved by whole pixels and sampled with "nearest" moves pixels exactly, stays
    # differentiable with respect to x and needs no per-image Python work.
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * shift[:, 0] / w
    theta[:, 1, 2] = -2 * shift[:, 1] / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x: Tensor) -> Tensor:
    """Set a random square of half the image size to 0 in each image (it may cross the border)."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h + (1 - size_h % 2), (n, 1, 1), device=x.device) - size_h // 2  # [N, 1, 1]
    left = torch.randint(0, w + (1 - size_w % 2), (n, 1, 1), device=x.device) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    erased = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)  # [N, H, W]
    return x * (~erased).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str, field: str = "model.augment") -> list[str]:
    """``"color,translation"`` -> ``["color", "translation"]``; GankitError naming the valid ones."""
    names = [name.strip() for name in policy.split(",") if name.strip()]
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise GankitError(
            f"{field}: unknown augmentation {unknown[0]!r}; valid: {', '.join(TRANSFORMS)} (comma-separated)"
        )
    return names


class DiffAugment:
    """The transformations of ``policy`` in order; an empty policy is the identity."""

    def __init__(self, policy: str = "") -> None:
        self.transforms = [TRANSFORMS[name] for name in parse_policy(policy)]

    def __call__(self, x: Tensor) -> Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x
