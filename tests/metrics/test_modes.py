import math

import torch

from gankit.metrics.modes import mode_coverage


def ring(n_modes=8, radius=2.0):
    angles = torch.arange(n_modes) * 2 * math.pi / n_modes
    return torch.stack([radius * angles.cos(), radius * angles.sin()], 1)


def test_perfect_sampler_captures_every_mode():
    modes, std = ring(), 0.02
    g = torch.Generator().manual_seed(0)
    samples = modes[torch.randint(0, 8, (2500,), generator=g)] + std * torch.randn(2500, 2, generator=g)
    result = mode_coverage(samples, modes, std)
    assert result["modes_captured"] == 8 and result["num_modes"] == 8
    assert result["high_quality"] > 0.98  # 3 std in 2-D holds 98.9% of the mass


def test_collapsed_sampler_captures_one_mode():
    modes, std = ring(), 0.02
    samples = modes[0] + std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    result = mode_coverage(samples, modes, std)
    assert result["modes_captured"] == 1


def test_samples_between_modes_are_low_quality():
    modes = ring()
    midpoints = (modes + modes.roll(1, 0)) / 2
    result = mode_coverage(midpoints.repeat(10, 1), modes, 0.02)
    assert result["modes_captured"] == 0 and result["high_quality"] == 0.0
