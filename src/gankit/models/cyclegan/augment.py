"""The paper's training augmentation as one batched tensor operation: resize by
``scale`` (286/256 in Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks"), take a random crop of the original size,
and flip left-right with probability 1/2.

    generator = torch.Generator().manual_seed(0)
    x = resize_crop_flip(x, scale=286 / 256, flip=True, generator=generator)  # same shape
    x = resize_crop_flip(x, scale=1.0, flip=False, generator=generator)       # unchanged
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_crop_flip(x: Tensor, scale: float, flip: bool, generator: torch.Generator) -> Tensor:
    """[N, C, H, W] -> [N, C, H, W], a different crop and flip per image.

    One ``grid_sample`` per batch samples each crop straight from the original
    image, which equals resizing it to ``scale * H`` and cropping H x W (up to
    bilinear interpolation), on the device and with no per-image Python work.
    The random numbers are drawn on the CPU from ``generator``: the same crops
    on every device, and a resumed run makes the same ones.
    """
    n = x.shape[0]
    if scale == 1.0 and not flip:
        return x
    # Crop offset in [-1, 1] of the free range: -1 = left/top edge, 1 = right/bottom edge.
    offsets = torch.rand(n, 2, generator=generator) * 2 - 1  # [N, 2] (x, y)
    mirror = torch.rand(n, generator=generator) < 0.5 if flip else torch.zeros(n, dtype=torch.bool)
    zoom = 1.0 / scale  # the crop covers this fraction of the resized image's side
    theta = torch.zeros(n, 2, 3)  # [N, 2, 3] maps output coordinates to input coordinates
    theta[:, 0, 0] = torch.where(mirror, -zoom, zoom)
    theta[:, 1, 1] = zoom
    theta[:, :, 2] = offsets * (1 - zoom)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)  # [N, H, W, 2]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
