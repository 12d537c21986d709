"""The unpaired: spec (two domains, independent shuffles) and its stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import describe, load_data, make_stream, preview_grid
from gankit.data.stream import TwoDomainStream
from gankit.data.unpaired import part_config, split_parts
from gankit.errors import GankitError

CPU = torch.device("cpu")


def image_folder(root: Path, count: int, value: int, size: int = 8) -> Path:
    root.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(root / f"{i:03d}.png")
    return root


def test_split_parts_ignores_commas_in_brackets():
    assert split_parts("mnist[classes=0,1;split=test],digits") == ["mnist[classes=0,1;split=test]", "digits"]
    assert split_parts("a, b ,c") == ["a", "b", "c"]


def test_part_settings_override_the_shared_ones(tmp_path):
    shared = DataConfig(image_size=28, split="train", classes=[1])
    config = part_config("digits[classes=3,5;split=test]", shared)
    assert (config.spec, config.classes, config.split, config.image_size) == ("digits", [3, 5], "test", 28)
    assert part_config(str(tmp_path), shared).spec == f"folder:{tmp_path}"  # the plain DIR form
    with pytest.raises(GankitError, match="unknown key data.colour"):
        part_config("digits[colour=red]", shared)


def test_two_folders_of_different_counts_batch_independently(tmp_path):
    a = image_folder(tmp_path / "summer", 10, 0)
    b = image_folder(tmp_path / "winter", 25, 255)
    data = load_data(DataConfig(spec=f"unpaired:{a},{b}", split="test"))
    assert [len(part) for part in data.parts] == [2, 5]  # each folder's own 20% test split
    assert len(data) == 5 and data.shape == (3, 8, 8)
    stream = make_stream(data, 2, seed=0, device=CPU)
    assert isinstance(stream, TwoDomainStream) and stream.steps_per_epoch == 2
    x_a, x_b = next(stream)
    assert x_a.shape == x_b.shape == (2, 3, 8, 8)
    assert (x_a == -1).all() and (x_b == 1).all()  # black summer, white winter: never mixed
    assert "domain A" in describe(data) and "domain B" in describe(data)
    assert preview_grid(data, 4).shape == (4, 3, 8, 8)


def test_the_two_domains_get_different_orders_and_resume_exactly():
    data = load_data(DataConfig(spec="unpaired:digits,digits", image_size=8))
    stream = make_stream(data, 4, seed=3, device=CPU)
    a, b = next(stream)
    assert not torch.equal(a, b)  # the same data set, shuffled independently
    for _ in range(5):
        next(stream)
    saved = stream.state_dict()
    expected = [next(stream) for _ in range(3)]
    resumed = make_stream(data, 4, seed=3, device=CPU)
    resumed.load_state_dict(saved)
    for (a1, b1), (a2, b2) in zip(expected, (next(resumed) for _ in range(3))):
        assert torch.equal(a1, a2) and torch.equal(b1, b2)


def test_two_labelled_subsets_of_one_data_set():
    data = load_data(DataConfig(spec="unpaired:digits[classes=3],digits[classes=8]"))
    assert [set(part.y.tolist()) for part in data.parts] == [{3}, {8}]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("unpaired:digits", "exactly two parts"),
        ("unpaired:digits,digits,digits", "exactly two parts"),
        ("unpaired:digits,toy:ring8", "needs images"),
        ("unpaired:digits[channels=3],digits", "differ in shape"),
        ("unpaired:digits,/no/such/dir", "no such directory: /no/such/dir"),
        ("unpaired:digits,nope", "unknown data spec 'nope'"),
        ("unpaired:digits[classes],digits", "expected key=value"),
        ("unpaired:unpaired:digits,digits", "cannot be unpaired themselves"),
    ],
)
def test_bad_unpaired_specs_are_one_line_errors(spec, message):
    with pytest.raises(GankitError, match=message):
        load_data(DataConfig(spec=spec))
