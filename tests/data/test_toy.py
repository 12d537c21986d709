"""2-D mixtures: mode centres, counts, empirical spread and seeding."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.config import DataConfig
from gankit.data import load_data
from gankit.errors import GankitError


def test_ring8_modes_and_spread() -> None:
    data = load_data(DataConfig(spec="toy:ring8", radius=3.0, toy_samples=20_000))
    angles = torch.arange(8) * (2 * math.pi / 8)
    expected = torch.stack([3 * angles.cos(), 3 * angles.sin()], dim=1)
    torch.testing.assert_close(data.modes, expected)
    assert (data.name, data.kind, data.shape, data.mode_std) == ("toy:ring8", "points", (2,), 0.02)
    _check_samples(data, modes=8, std=0.02)


def test_grid25_modes_and_spread() -> None:
    data = load_data(DataConfig(spec="toy:grid25", spacing=1.5, toy_samples=20_000))
    expected = {(1.5 * i, 1.5 * j) for i in range(-2, 3) for j in range(-2, 3)}
    assert {tuple(centre) for centre in data.modes.tolist()} == expected
    assert data.mode_std == 0.05
    _check_samples(data, modes=25, std=0.05)


def _check_samples(data, modes: int, std: float) -> None:
    assert data.x.shape == (20_000, 2) and data.x.dtype == torch.float32
    assert data.modes.shape == (modes, 2) and data.class_names == [str(k) for k in range(modes)]
    assert data.y.unique().tolist() == list(range(modes))  # every mode is drawn
    offsets = data.x - data.modes[data.y]  # [N, 2] distance to the labelled centre
    assert abs(offsets.std().item() - std) < 0.05 * std
    nearest = torch.cdist(data.x, data.modes).argmin(dim=1)
    assert torch.equal(nearest, data.y)


def test_std_override_and_seeding() -> None:
    config = DataConfig(spec="toy:ring8", std=0.1, toy_samples=5000, seed=3)
    a, b = load_data(config), load_data(config)
    assert torch.equal(a.x, b.x) and a.mode_std == 0.1
    assert abs((a.x - a.modes[a.y]).std().item() - 0.1) < 0.01
    other = load_data(DataConfig(spec="toy:ring8", std=0.1, toy_samples=5000, seed=4))
    assert not torch.equal(a.x, other.x)


def test_test_split_draws_other_points() -> None:
    train = load_data(DataConfig(spec="toy:ring8", toy_samples=1000))
    test = load_data(DataConfig(spec="toy:ring8", toy_samples=1000, split="test"))
    assert not torch.isin(test.x[:, 0], train.x[:, 0]).any()


def test_image_options_are_ignored_but_classes_select_modes() -> None:
    data = load_data(DataConfig(spec="toy:ring8", toy_samples=1000, image_size=32, channels=3, classes=[0, 4]))
    assert data.shape == (2,) and set(data.y.tolist()) == {0, 4}
    assert data.modes.shape == (8, 2)  # metrics still see every mode


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(GankitError, match=r"data.classes \[9\] not in toy:ring8; available: 0=0"):
        load_data(DataConfig(spec="toy:ring8", toy_samples=100, classes=[9]))
