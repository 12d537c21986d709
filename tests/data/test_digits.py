"""The bundled scikit-learn digits: sizes, value range, labels and a seed-independent split."""

from __future__ import annotations

import pytest
import sklearn.datasets
import torch

from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.dataset import fixed_split
from gankit.errors import GankitError


@pytest.mark.parametrize(("image_size", "side"), [(None, 16), (16, 16), (32, 32)])
def test_shapes_range_and_labels(image_size: int | None, side: int) -> None:
    data = load_data(DataConfig(spec="digits", image_size=image_size))
    assert (data.name, data.kind, data.shape) == ("digits", "image", (1, side, side))
    assert data.x.shape == (1437, 1, side, side) and data.x.dtype == torch.float32
    assert data.x.min() >= -1.0 and data.x.max() <= 1.0
    assert data.x.min() == -1.0 and data.x.max() > 0.9  # the full range is used
    assert data.y.dtype == torch.int64 and set(data.y.tolist()) == set(range(10))
    assert data.class_names == [str(digit) for digit in range(10)]
    assert data.source is None and len(data) == 1437


def test_values_are_the_scaled_originals_at_native_size() -> None:
    data = load_data(DataConfig(spec="digits", image_size=8, split="test"))
    bunch = sklearn.datasets.load_digits()
    chosen = fixed_split(1797, "test")
    expected = torch.from_numpy(bunch.images[chosen.numpy()]).float() / 16 * 2 - 1  # [360, 8, 8]
    torch.testing.assert_close(data.x[:, 0], expected)
    assert data.y.tolist() == bunch.target[chosen.numpy()].tolist()


def test_rgb_repeats_the_grey_channel() -> None:
    data = load_data(DataConfig(spec="digits", channels=3))
    assert data.shape == (3, 16, 16)
    assert torch.equal(data.x[:, 0], data.x[:, 2])


def test_split_is_disjoint_and_independent_of_the_seed() -> None:
    train, test = fixed_split(1797, "train"), fixed_split(1797, "test")
    assert len(train) == 1437 and len(test) == 360
    assert sorted(train.tolist() + test.tolist()) == list(range(1797))
    a = load_data(DataConfig(spec="digits", split="test", seed=0))
    b = load_data(DataConfig(spec="digits", split="test", seed=7))
    assert torch.equal(a.x, b.x)


def test_class_filter_keeps_label_meaning() -> None:
    data = load_data(DataConfig(spec="digits", classes=[3, 5]))
    assert set(data.y.tolist()) == {3, 5}
    assert data.class_names[3] == "3" and len(data.class_names) == 10


def test_unknown_class_lists_the_available_ones() -> None:
    with pytest.raises(GankitError, match=r"data.classes \[12\] not in digits; available: 0=0, 1=1"):
        load_data(DataConfig(spec="digits", classes=[3, 12]))


def test_box_frames_digits_like_mnist():
    data = load_data(DataConfig(spec="digits", image_size=28, box=20))
    assert data.name == "digits[box=20]" and data.x.shape[1:] == (1, 28, 28)
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False
    assert (data.x[:, :, border] == -1).all() and data.x[:, :, 4:24, 4:24].max() > 0.5
    with pytest.raises(GankitError, match="larger than the images"):
        load_data(DataConfig(spec="digits", image_size=16, box=20))


def test_limit_keeps_a_seeded_subset_and_refuses_more_than_there_is():
    full = load_data(DataConfig(spec="digits"))
    small = load_data(DataConfig(spec="digits", limit=100, seed=3))
    again = load_data(DataConfig(spec="digits", limit=100, seed=3))
    other = load_data(DataConfig(spec="digits", limit=100, seed=4))
    assert len(small) == 100 and torch.equal(small.x, again.x) and not torch.equal(small.x, other.x)
    assert any(torch.equal(small.x[0], row) for row in full.x)  # drawn from the training split
    with pytest.raises(GankitError, match="data.limit 5000 is more than the 1437 examples"):
        load_data(DataConfig(spec="digits", limit=5000))
