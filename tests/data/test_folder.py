"""Folders of images built with PIL: classes from subfolders, every PIL mode,
mixed sizes, damaged files, splits, and the streaming path."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_data
from gankit.errors import GankitError

WHITE, BLACK = 1.0, -1.0


def save(path: Path, image: Image.Image, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def grey(value: int, size: tuple[int, int] = (8, 8)) -> Image.Image:
    return Image.new("L", size, value)


def signed(value: float) -> float:
    return value / 127.5 - 1


def truncated_png() -> bytes:
    """A PNG whose header reads fine but whose pixel data stops early."""
    noise = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    return buffer.getvalue()[:-30]


def load(root: Path, **options) -> object:
    return load_data(DataConfig(spec=f"folder:{root}", **options))


def test_subfolders_are_sorted_classes(tmp_path: Path) -> None:
    for name in ["b", "c"]:
        save(tmp_path / "train" / "dog" / f"{name}.png", grey(200))
    save(tmp_path / "train" / "cat" / "deeper" / "a.png", grey(100))  # first level names the class
    save(tmp_path / "test" / "emu" / "z.png", grey(50))  # a class seen only in test keeps its index
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    save(tmp_path / "train" / ".ipynb_checkpoints" / "x.png", grey(0))
    data = load(tmp_path)
    assert data.class_names == ["cat", "dog", "emu"]
    assert data.y.tolist() == [0, 1, 1]  # sorted paths: cat/deeper/a, dog/b, dog/c
    assert data.x[:, 0, 0, 0].tolist() == pytest.approx([signed(100), signed(200), signed(200)])
    assert data.shape == (1, 8, 8) and data.name == f"folder:{tmp_path.resolve()}"
    assert load(tmp_path, split="test").y.tolist() == [2]


def test_loose_images_are_unlabelled(tmp_path: Path) -> None:
    for k in range(5):
        save(tmp_path / f"{k}.PNG", grey(k))  # extensions match in any case
    data = load(tmp_path, split="test")
    assert data.class_names == [] and data.y.tolist() == [-1]
    with pytest.raises(GankitError, match=r"data\.classes is set but folder:.* has no class labels"):
        load(tmp_path, classes=[0])


def test_every_pil_mode_decodes(tmp_path: Path) -> None:
    train = tmp_path / "train"
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    files = {
        "a_rgb.jpg": red,
        "b_palette.png": red.convert("P"),
        "c_rgba_clear.png": Image.new("RGBA", (8, 8), (255, 255, 255, 0)),
        "d_rgba_solid.webp": Image.new("RGBA", (8, 8), (0, 0, 255, 255)),
        "e_la_clear.png": Image.new("LA", (8, 8), (255, 0)),
        "f_grey16.png": Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)),
        "g_grey16_mid.tif": Image.fromarray(np.full((8, 8), 128 * 257, dtype=np.uint16)),
        "h_cmyk.tiff": Image.new("CMYK", (8, 8), (0, 0, 0, 0)),
        "i_bilevel.bmp": Image.new("1", (8, 8), 1),
        "j_grey.gif": grey(0),
    }
    for name, image in files.items():
        save(train / name, image)
    save(tmp_path / "test" / "unused.png", grey(0))
    assert Image.open(train / "f_grey16.png").mode == "I;16"

    rgb = load(tmp_path, in_memory="always").x[:, :, 0, 0]  # [10, 3]: one pixel per file
    expected = [
        [WHITE, BLACK, BLACK],  # red JPEG (lossy, hence the tolerance)
        [WHITE, BLACK, BLACK],  # palette
        [BLACK, BLACK, BLACK],  # transparent white on black
        [BLACK, BLACK, WHITE],  # opaque blue (WebP stores it losslessly only when asked)
        [BLACK, BLACK, BLACK],  # transparent grey + alpha
        [WHITE, WHITE, WHITE],  # 16-bit maximum -> 255, not clipped garbage
        [signed(128)] * 3,  # 16-bit middle -> 128
        [WHITE, WHITE, WHITE],  # CMYK with no ink
        [WHITE, WHITE, WHITE],  # bilevel
        [BLACK, BLACK, BLACK],  # grey GIF
    ]
    torch.testing.assert_close(rgb, torch.tensor(expected), atol=0.04, rtol=0)

    grey_x = load(tmp_path, channels=1).x  # [10, 1, 8, 8]
    assert grey_x.shape == (10, 1, 8, 8)
    assert grey_x[0, 0, 0, 0] == pytest.approx(signed(76), abs=0.04)  # red's luma (ITU-R 601)


def test_channels_default_to_grey_only_when_every_image_is_grey(tmp_path: Path) -> None:
    save(tmp_path / "train" / "a.png", grey(10))
    grey_palette = Image.new("RGB", (8, 8), (5, 5, 5)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    save(tmp_path / "train" / "b.png", grey_palette)
    save(tmp_path / "train" / "c.png", Image.fromarray(np.zeros((8, 8), dtype=np.uint16)))
    save(tmp_path / "test" / "d.png", grey(20))
    assert load(tmp_path).shape == (1, 8, 8)
    save(tmp_path / "test" / "e.png", Image.new("RGB", (8, 8), (1, 2, 3)))
    data = load(tmp_path)  # one colour image in the test split makes both splits RGB
    assert data.shape == (3, 8, 8)
    assert torch.equal(data.x[0, 0], data.x[0, 2])  # grey repeated into RGB


def test_mixed_sizes_resize_the_shorter_side_and_crop_the_centre(tmp_path: Path) -> None:
    stripes = np.zeros((10, 30, 3), dtype=np.uint8)
    stripes[:, :10, 0] = 255  # red | green | blue thirds
    stripes[:, 10:20, 1] = 255
    stripes[:, 20:, 2] = 255
    save(tmp_path / "train" / "wide.png", Image.fromarray(stripes))
    save(tmp_path / "train" / "tall.png", Image.new("RGB", (12, 40), (0, 0, 255)))
    save(tmp_path / "test" / "x.png", grey(0))
    data = load(tmp_path, image_size=10)
    assert data.x.shape == (2, 3, 10, 10)
    assert torch.equal(data.x[1, 1], torch.ones(10, 10))  # only the green middle survives the crop
    assert load(tmp_path).shape == (3, 64, 64)  # sizes differ and none was asked for


def test_one_common_square_size_is_kept(tmp_path: Path) -> None:
    for k in range(5):
        save(tmp_path / f"{k}.png", grey(k, size=(12, 12)))
    assert load(tmp_path).shape == (1, 12, 12)
    save(tmp_path / "5.png", grey(0, size=(12, 13)))
    assert load(tmp_path).shape == (1, 64, 64)


def test_damaged_files_are_skipped_with_one_warning(tmp_path: Path) -> None:
    for k in range(8):
        save(tmp_path / "train" / f"{k}.png", grey(k * 10))
    (tmp_path / "train" / "garbage.png").write_bytes(b"this is not a png file at all")
    (tmp_path / "train" / "empty.jpg").write_bytes(b"")
    (tmp_path / "train" / "truncated.png").write_bytes(truncated_png())
    save(tmp_path / "test" / "x.png", grey(0))
    with pytest.warns(UserWarning, match=r"skipped 3 file\(s\) that could not be decoded: .*empty.jpg.*garbage.png"):
        data = load(tmp_path)
    assert len(data) == 8
    assert data.x[:, 0, 0, 0].tolist() == pytest.approx([signed(k * 10) for k in range(8)])


def test_streaming_fails_clearly_on_a_file_damaged_past_its_header(tmp_path: Path) -> None:
    save(tmp_path / "train" / "a.png", grey(0))
    (tmp_path / "train" / "b.png").write_bytes(truncated_png())
    save(tmp_path / "test" / "x.png", grey(0))
    data = load(tmp_path, in_memory="never")
    assert len(data) == 2 and data.x is None
    with pytest.raises(GankitError, match=r"cannot decode .*b\.png"):
        data.source[1]


def test_decompression_bombs_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    save(tmp_path / "train" / "ok.png", grey(1, size=(16, 16)))
    save(tmp_path / "train" / "warns.png", grey(1, size=(30, 30)))  # over the limit: PIL warns
    save(tmp_path / "train" / "raises.png", grey(1, size=(40, 40)))  # over twice the limit: PIL raises
    save(tmp_path / "test" / "x.png", grey(0, size=(16, 16)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(tmp_path)
    assert len(data) == 1
    assert len(caught) == 1 and "skipped 2 file(s)" in str(caught[0].message)


def test_folders_with_nothing_to_load(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match="no such directory"):
        load(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(GankitError, match="is a file, expected a directory"):
        load(tmp_path / "file.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(GankitError, match="no image files"):
        load(tmp_path / "empty")
    for k in range(3):
        (tmp_path / "broken" / "train").mkdir(parents=True, exist_ok=True)
        (tmp_path / "broken" / "train" / f"{k}.jpg").write_bytes(b"\xff\xd8 not really")
    (tmp_path / "broken" / "test").mkdir()
    with pytest.raises(GankitError, match="none of the 3 image files could be decoded"):
        load(tmp_path / "broken")
    with pytest.raises(GankitError, match=r"folder:.*: the test split is empty \(3 images in all\)"):
        load(tmp_path / "broken", split="test")


def test_class_filter(tmp_path: Path) -> None:
    for name in ["cat", "dog"]:
        save(tmp_path / "train" / name / "a.png", grey(0))
    save(tmp_path / "test" / "cat" / "b.png", grey(0))
    assert load(tmp_path, classes=[1]).y.tolist() == [1]
    with pytest.raises(GankitError, match=r"data.classes \[2\] not in folder:.*; available: 0=cat, 1=dog"):
        load(tmp_path, classes=[2])
    with pytest.raises(GankitError, match=r"data.classes \[1\] leave no examples in folder:"):
        load(tmp_path, split="test", classes=[1])


def test_flat_folder_splits_80_20_whatever_the_seed(tmp_path: Path) -> None:
    for k in range(20):
        save(tmp_path / "digits" / f"{k:02d}.png", grey(k * 10))
    values = {}
    for split in ["train", "test"]:
        data = load(tmp_path, split=split, seed=split == "test")
        values[split] = {round((v + 1) * 127.5) for v in data.x[:, 0, 0, 0].tolist()}
    assert len(values["train"]) == 16 and len(values["test"]) == 4
    assert values["train"] | values["test"] == {k * 10 for k in range(20)}


def test_sets_over_the_memory_limit_stream_the_same_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for k in range(6):
        save(tmp_path / "train" / "cls" / f"{k}.png", Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)))
    save(tmp_path / "test" / "x.png", grey(0))
    memory = load(tmp_path, image_size=256)
    streamed = load(tmp_path, image_size=256, max_memory_mb=1)  # 6 * 3 * 256 * 256 * 4 bytes > 1 MiB
    assert memory.x is not None and memory.source is None
    assert streamed.x is None and len(streamed) == 6 and streamed.shape == (3, 256, 256)
    assert torch.equal(streamed.y, memory.y)
    for index in range(6):
        x, y = streamed.source[index]
        assert torch.equal(x, memory.x[index]) and y == 0
