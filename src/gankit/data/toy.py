"""2-D Gaussian mixtures for counting captured modes, after "VEEGAN: Reducing Mode
Collapse in GANs using Implicit Variational Learning" (Srivastava et al., 2017)
and "PacGAN" (Lin et al., 2018): eight modes on a ring and 25 on a grid.

    data = load_data(DataConfig(spec="toy:ring8", toy_samples=1000))   # load_toy(RingSpec(...))
    data.x.shape, data.modes.shape   # (1000, 2), (8, 2)
    data.y[:3]                       # the mode each point was drawn from
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from gankit.data.dataset import Data, filter_classes
from gankit.data.kinds import GridSpec, RingSpec, ToySpec

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


class Mixture(NamedTuple):
    spec: type[ToySpec]  # its spec, which owns the setting that sizes it (data.radius, data.spacing)
    modes: Callable[[ToySpec], Tensor]  # [M, 2] centres
    std: float  # default mode std


TOY_MIXTURES = {
    "ring8": Mixture(RingSpec, lambda spec: ring_modes(8, spec.radius), 0.02),
    "grid25": Mixture(GridSpec, lambda spec: grid_modes(5, spec.spacing), 0.05),
}


def load_toy(spec: ToySpec) -> Data:
    mixture = TOY_MIXTURES[spec.mixture]
    modes = mixture.modes(spec)  # [M, 2]
    std = spec.std if spec.std is not None else mixture.std
    seed = spec.seed if spec.split == "train" else spec.seed + TEST_SEED_OFFSET
    generator = torch.Generator().manual_seed(seed % 2**64)
    y = torch.randint(modes.shape[0], (spec.toy_samples,), generator=generator)  # [N]
    x = modes[y] + std * torch.randn(spec.toy_samples, 2, generator=generator)  # [N, 2]
    data = Data(
        name=f"toy:{spec.mixture}",
        kind="points",
        shape=(2,),
        class_names=[str(k) for k in range(modes.shape[0])],
        x=x,
        y=y,
        source=None,
        modes=modes,
        mode_std=std,
    )
    return filter_classes(data, spec.classes)
