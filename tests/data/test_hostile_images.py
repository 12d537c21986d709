"""Hostile and unusual image files through every path that reads user images: the
folder loader (in memory and streamed), unpaired domains, defects protocols,
``gankit translate`` and ``gankit score``. Each file has one defined outcome: it is
converted, skipped with a count, or refused with a one-line error (no traceback)."""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.anomaly import load_anomaly
from gankit.data.images import DECODE_ERRORS, TooLargeError, decode_file, read_header
from gankit.errors import GankitError

NOISE = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)


def _png_header_only(width: int, height: int) -> bytes:
    """A decompression bomb's header: 60,000 x 60,000 declared in a file of ~100 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


RGB = Image.fromarray(NOISE)
# Unusual but valid: each is converted to the channels asked for.
CONVERTED = {
    "sixteen_bit.png": lambda: Image.fromarray((NOISE[..., 0].astype(np.uint16) * 257)),
    "palette.png": lambda: RGB.convert("P"),
    "grey_alpha.png": lambda: RGB.convert("LA"),
    "rgba.png": lambda: RGB.convert("RGBA"),
    "cmyk.jpg": lambda: RGB.convert("CMYK"),
    "cmyk_tiff.tif": lambda: RGB.convert("CMYK"),
    "float.tif": lambda: Image.fromarray(NOISE[..., 0].astype(np.float32)),
    "one_bit.png": lambda: RGB.convert("1"),
    "grey.png": lambda: RGB.convert("L"),
    "one_pixel.png": lambda: Image.new("RGB", (1, 1), (10, 200, 30)),
    "one_row.png": lambda: Image.new("L", (300, 1), 90),
    "large.jpg": lambda: Image.new("RGB", (2400, 1600), (200, 10, 10)),
}
# Damaged or not images at all: skipped with a count, or refused in one line.
DAMAGED = {
    "truncated.png": lambda: _encoded(RGB, "PNG")[:300],
    "truncated.jpg": lambda: _encoded(RGB, "JPEG")[:200],
    "zero_bytes.png": lambda: b"",
    "text.png": lambda: b"not an image at all\n",
    "bomb.png": lambda: _png_header_only(60_000, 60_000),
}


def write_files(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        made = {**CONVERTED, **DAMAGED}[name]()
        if isinstance(made, bytes):
            (folder / name).write_bytes(made)
        else:
            made.save(folder / name)
    return [folder / name for name in names]


@pytest.fixture
def hostile(tmp_path) -> Path:
    folder = tmp_path / "hostile"
    write_files(folder, [*CONVERTED, *DAMAGED])
    for i in range(3):
        RGB.rotate(90 * i).save(folder / f"good-{i}.png")
    return folder


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("in_memory", ["always", "never"])
def test_folder_converts_odd_modes_and_skips_damaged_files_with_a_count(hostile, channels, in_memory):
    skipped, loaded, streamed_errors = [], 0, 0
    for split in ("train", "test"):  # the folder's fixed 80/20 split: together, every file
        config = DataConfig(spec=f"folder:{hostile}", image_size=16, channels=channels, in_memory=in_memory,
                            split=split, num_workers=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load_data(config)
        for warning in caught:
            count = re.search(r"skipped (\d+) file\(s\) that could not be decoded: (.*)", str(warning.message))
            skipped += re.findall(r"(\w+\.\w+) \(", count.group(2))
            assert int(count.group(1)) == len(re.findall(r"(\w+\.\w+) \(", count.group(2)))
        assert data.shape == (channels, 16, 16)
        loaded += len(data)
        if in_memory == "always":
            assert data.x.dtype == torch.float32 and data.x.isfinite().all()
            assert data.x.min() >= -1 and data.x.max() <= 1
            continue
        for i in range(len(data)):
            try:
                x, _ = data.source[i]
            except GankitError as error:
                assert "truncated.png" in str(error) and "\n" not in str(error)
                streamed_errors += 1
                continue
            assert x.shape == (channels, 16, 16) and x.isfinite().all()
    # Streaming reads only headers up front: a file whose header is fine but whose pixels are cut
    # short is found when its item is read (a one-line error), not at load time.
    expected = set(DAMAGED) - ({"truncated.png"} if in_memory == "never" else set())
    assert sorted(skipped) == sorted(expected)
    assert loaded == len(CONVERTED) + 3 + len(DAMAGED) - len(expected)
    assert streamed_errors == (1 if in_memory == "never" else 0)


@pytest.mark.parametrize("name", list(CONVERTED))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_odd_mode_decodes_into_range(tmp_path, name, channels):
    (path,) = write_files(tmp_path, [name])
    image = decode_file(path, channels, 8)
    assert image.dtype == torch.uint8 and image.shape == (channels, 8, 8)
    if name == "sixteen_bit.png":  # 16-bit values are scaled down (v * 257 -> v), not clipped at 255
        native = decode_file(path, channels, 20)
        assert torch.equal(native[0], torch.from_numpy(NOISE[..., 0]))


@pytest.mark.parametrize("name", list(DAMAGED))
def test_every_damaged_file_raises_a_decode_error(tmp_path, name):
    (path,) = write_files(tmp_path, [name])
    with pytest.raises(DECODE_ERRORS):
        decode_file(path, 3, 8)


def test_a_bomb_under_twice_the_limit_is_refused_without_decoding(tmp_path, monkeypatch):
    """PIL only warns between 1x and 2x Image.MAX_IMAGE_PIXELS and would decode the file."""
    RGB.save(tmp_path / "big.png")  # 400 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or real_load(self))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(TooLargeError, match="MAX_IMAGE_PIXELS"):
            read_header(tmp_path / "big.png")
        with pytest.raises(TooLargeError):
            decode_file(tmp_path / "big.png", 3, 8)
    assert decoded == []
    for folder in ("train", "test"):
        (tmp_path / "f" / folder).mkdir(parents=True)
        Image.new("L", (10, 10)).save(tmp_path / "f" / folder / "small.png")
    (tmp_path / "big.png").rename(tmp_path / "f" / "train" / "big.png")
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\).*big.png \(20x20 pixels is over"):
        data = load_data(DataConfig(spec=f"folder:{tmp_path / 'f'}", image_size=8, channels=1))
    assert decoded == [] or all(image.size == (10, 10) for image in decoded)
    assert len(data) == 1


def test_a_folder_of_only_damaged_files_is_one_error(tmp_path):
    write_files(tmp_path, list(DAMAGED))
    with pytest.raises(GankitError, match=r"none of the \d image files could be decoded"):
        load_data(DataConfig(spec=f"folder:{tmp_path}", image_size=8, split="test"))


def test_unpaired_domains_skip_damaged_files(hostile, tmp_path):
    other = tmp_path / "other"
    write_files(other, [*CONVERTED, *DAMAGED])
    with pytest.warns(UserWarning, match="skipped") as caught:
        data = load_data(DataConfig(spec=f"unpaired:{hostile},{other}", image_size=16, channels=3))
    assert data.shape == (3, 16, 16) and len(caught) == 2


def defects_layout(root: Path, bad: str | None) -> Path:
    write_files(root / "train" / "good", ["grey.png", "rgba.png", "palette.png", "cmyk.jpg", "sixteen_bit.png"])
    write_files(root / "test" / "good", ["one_pixel.png", "large.jpg"])
    write_files(root / "test" / "crack", ["float.tif", "grey_alpha.png"] + ([bad] if bad else []))
    return root


@pytest.mark.parametrize("bad", list(DAMAGED))
def test_defects_protocol_refuses_a_damaged_file_in_one_line(tmp_path, bad):
    root = defects_layout(tmp_path / "d", bad)
    config = DataConfig(spec=f"defects:{root}", image_size=16, channels=3)
    assert len(load_anomaly(config, "fit")) > 0  # the damaged file is in test/ only
    with pytest.raises(GankitError, match=rf"{bad}") as caught:
        load_anomaly(config, "test")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("bad", ["truncated.jpg", "zero_bytes.png", "text.png"])
def test_magnetic_tile_refuses_a_damaged_image_in_one_line(tmp_path, bad):
    root = tmp_path / "tiles"
    for i in range(5):
        write_files(root / "MT_Free" / "Imgs", ["grey.png"])
        (root / "MT_Free" / "Imgs" / "grey.png").rename(root / "MT_Free" / "Imgs" / f"free{i}.jpg")
    write_files(root / "MT_Crack" / "Imgs", [bad])
    (root / "MT_Crack" / "Imgs" / bad).rename(root / "MT_Crack" / "Imgs" / "crack.jpg")
    config = DataConfig(spec=f"magnetic-tile:{root}", image_size=16, channels=1)
    assert len(load_anomaly(config, "fit")) > 0
    with pytest.raises(GankitError, match=r"crack\.jpg") as caught:
        load_anomaly(config, "test")
    assert "\n" not in str(caught.value)


def test_defects_protocol_refuses_a_bomb_under_twice_the_limit(tmp_path, monkeypatch):
    root = defects_layout(tmp_path / "d", None)
    RGB.save(root / "test" / "crack" / "big.png")  # 20 x 20 = 400 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(GankitError, match=r"big.png \(20x20 pixels is over PIL's Image.MAX_IMAGE_PIXELS\)"):
            load_anomaly(DataConfig(spec=f"defects:{root}", image_size=16, channels=3), "test")


def test_defects_protocol_converts_every_mode(tmp_path):
    test = load_anomaly(DataConfig(spec=f"defects:{defects_layout(tmp_path / 'd', None)}", image_size=16), "test")
    assert test.data.x.shape == (4, 3, 16, 16) and test.is_anomaly.tolist() == [True, True, False, False]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("gankit: error:"), err
    return err


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    from tests.conftest import TINY_TRAIN

    run = tmp_path_factory.mktemp("translate") / "run"
    sets = ["model.g_width=4", "model.d_width=4", "model.blocks=1", "model.d_layers=2", "model.pool_size=2",
            "data.image_size=16", "train.eval_metrics=[]", *TINY_TRAIN]
    argv = ["train", "cyclegan", "--steps", "1", "--out", str(run), *[a for s in sets for a in ("--set", s)]]
    assert main(argv) == 0
    return run


@pytest.mark.parametrize("name", list(DAMAGED))
def test_translate_refuses_a_damaged_input_in_one_line(cyclegan_run, tmp_path, name, capsys):
    (path,) = write_files(tmp_path / "in", [name])
    capsys.readouterr()
    assert main(["translate", str(cyclegan_run), str(path), "--direction", "a2b", "--out", str(tmp_path / "o")]) == 2
    assert name in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_translate_converts_every_mode(cyclegan_run, tmp_path, capsys):
    write_files(tmp_path / "in", list(CONVERTED))
    assert main(["translate", str(cyclegan_run), str(tmp_path / "in"), "--direction", "b2a",
                 "--out", str(tmp_path / "o")]) == 0
    assert len(list((tmp_path / "o").glob("*.png"))) == len(CONVERTED)


def test_score_on_damaged_test_data_is_one_line(tmp_path, capsys):
    from tests.conftest import tiny_overrides

    run = tmp_path / "run"
    sets = [a for s in tiny_overrides("digits", **{"train.eval_metrics": "[]"}) for a in ("--set", s)]
    assert main(["train", "ganomaly", "--data", "digits", "--anomaly-classes", "3", "--steps", "1",
                 "--out", str(run), *sets]) == 0
    root = defects_layout(tmp_path / "d", "truncated.png")
    capsys.readouterr()
    assert main(["score", str(run), "--data", f"defects:{root}", "--out", str(tmp_path / "s.csv")]) == 2
    assert "truncated.png" in one_line_error(capsys)
    (root / "test" / "crack" / "truncated.png").unlink()
    assert main(["score", str(run), "--data", f"defects:{root}", "--out", str(tmp_path / "s.csv")]) == 0
