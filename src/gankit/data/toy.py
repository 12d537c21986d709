"""2-D Gaussian mixtures for counting captured modes, after "VEEGAN: Reducing Mode
Collapse in GANs using Implicit Variational Learning" (Srivastava et al., 2017)
and "PacGAN" (Lin et al., 2018): eight modes on a ring and 25 on a grid.

    data = load_toy("ring8", DataConfig(spec="toy:ring8", toy_samples=1000))
    data.x.shape, data.modes.shape   # (1000, 2), (8, 2)
    data.y[:3]                       # the mode each point was drawn from
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.dataset import Data, filter_classes

# A test split must not repeat the training points, so it draws from another stream.
TEST_SEED_OFFSET = 0x9E3779B97F4A7C15


def ring_modes(count: int, radius: float) -> Tensor:
    """[count, 2] centres evenly on a circle, the first at angle 0."""
    angles = torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)
    return torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()


def grid_modes(side: int, spacing: float) -> Tensor:
    """[side * side, 2] centres on a square grid centred at the origin; index = row * side + column."""
    steps = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing  # [side]
    first, second = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([first.flatten(), second.flatten()], dim=1)


TOY_MIXTURES = {
    # name: (centres from the config, default std)
    "ring8": (lambda config: ring_modes(8, config.radius), 0.02),
    "grid25": (lambda config: grid_modes(5, config.spacing), 0.05),
}


def load_toy(name: str, config: DataConfig) -> Data:
    make_modes, default_std = TOY_MIXTURES[name]
    modes = make_modes(config)  # [M, 2]
    std = config.std if config.std is not None else default_std
    seed = config.seed if config.split == "train" else config.seed + TEST_SEED_OFFSET
    generator = torch.Generator().manual_seed(seed % 2**64)
    y = torch.randint(modes.shape[0], (config.toy_samples,), generator=generator)  # [N]
    x = modes[y] + std * torch.randn(config.toy_samples, 2, generator=generator)  # [N, 2]
    data = Data(
        name=f"toy:{name}",
        kind="points",
        shape=(2,),
        class_names=[str(k) for k in range(modes.shape[0])],
        x=x,
        y=y,
        source=None,
        modes=modes,
        mode_std=std,
    )
    return filter_classes(data, config.classes)
