"""describe, preview_grid and Data.subset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import describe, load_data, preview_grid
from gankit.errors import GankitError


def test_describe_images() -> None:
    text = describe(load_data(DataConfig(spec="digits", split="test", classes=[0, 1])))
    lines = text.splitlines()
    assert lines[0] == "digits"
    assert "  kind:    image" in lines and "  count:   65" in lines and "  shape:   1 x 16 x 16" in lines
    assert any(line.startswith("  values:  min -1.000, max 1.000, mean") for line in lines)
    assert "  classes: 10" in lines and "    0  28" in lines and "    9  0" in lines


def test_describe_named_classes_points_and_streams(tmp_path: Path) -> None:
    toy = describe(load_data(DataConfig(spec="toy:grid25", toy_samples=200)))
    assert "  modes:   25, std 0.05" in toy and "x in [" in toy
    for name in ["cat", "dog"]:
        (tmp_path / name).mkdir()
        for k in range(3):
            Image.new("L", (4, 4), k).save(tmp_path / name / f"{k}.png")
    Image.new("L", (4, 4)).save(tmp_path / "loose.png")
    streamed = describe(load_data(DataConfig(spec=f"folder:{tmp_path}", in_memory="never", split="test")))
    assert "  values:  [-1, 1] (streamed from disk, not scanned)" in streamed
    assert "    0 cat" in streamed and "  classes: 2" in streamed


def test_preview_grid_is_a_fixed_random_selection() -> None:
    data = load_data(DataConfig(spec="digits", split="test"))
    grid = preview_grid(data, n=16, seed=1)
    assert grid.shape == (16, 1, 16, 16) and grid.min() >= -1 and grid.max() <= 1
    assert torch.equal(grid, preview_grid(data, n=16, seed=1))
    assert not torch.equal(grid, preview_grid(data, n=16, seed=2))
    assert preview_grid(data.subset(range(5)), n=64).shape == (5, 1, 16, 16)


def test_preview_of_streamed_images_matches_memory(tmp_path: Path) -> None:
    for k in range(10):
        Image.new("RGB", (5, 5), (k * 20, 0, 0)).save(tmp_path / f"{k}.png")
    config = {"spec": f"folder:{tmp_path}", "image_size": 4}
    memory, streamed = load_data(DataConfig(**config)), load_data(DataConfig(**config, in_memory="never"))
    assert torch.equal(preview_grid(memory, n=4), preview_grid(streamed, n=4))
    part = streamed.subset([3, 1])
    assert len(part) == 2 and torch.equal(part.source[0][0], memory.x[3]) and part.y.tolist() == [-1, -1]


def test_preview_refuses_points_and_empty_requests() -> None:
    points = load_data(DataConfig(spec="toy:ring8", toy_samples=10))
    with pytest.raises(GankitError, match="toy:ring8 holds 2-D points, not images"):
        preview_grid(points)
    with pytest.raises(GankitError, match="at least one image"):
        preview_grid(load_data(DataConfig(spec="digits")), n=0)


def test_subset_keeps_everything_but_the_examples() -> None:
    data = load_data(DataConfig(spec="toy:ring8", toy_samples=50))
    part = data.subset(torch.tensor([4, 2]))
    assert len(part) == 2 and torch.equal(part.x, data.x[[4, 2]]) and torch.equal(part.y, data.y[[4, 2]])
    assert (part.name, part.kind, part.shape, part.class_names) == (data.name, data.kind, data.shape, data.class_names)
    assert part.modes is data.modes and part.mode_std == data.mode_std
