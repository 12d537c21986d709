"""The generator EMA: the decay from a half-life in images, and what the update moves."""

import pytest
import torch
from torch import nn

from gankit.nn.ema import ema_beta, update_ema


def test_half_life_in_images_gives_half_the_weight_after_that_many_images():
    assert ema_beta(batch_images=500, half_life_kimg=1.0, images_seen=10**6, rampup=None) == pytest.approx(0.5 ** 0.5)
    # Early on the half-life is capped at rampup * images seen.
    assert ema_beta(batch_images=50, half_life_kimg=1.0, images_seen=1000, rampup=0.05) == pytest.approx(0.5)


def test_update_lerps_parameters_and_copies_batch_norm_statistics():
    live, average = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        live.weight.fill_(3.0)
        live.running_mean.fill_(7.0)
    update_ema(average, live, beta=0.75)
    assert torch.allclose(average.weight, torch.full((3,), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(average.running_mean, live.running_mean)
