"""MNIST and Fashion-MNIST: the IDX reader on hand-made files, the cache and the
offline path (the download is always patched; see conftest), and the real files
from the shared data folder when it is present."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import load_data, mnist
from gankit.data.idx import read_idx
from gankit.errors import GankitError

STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, count: int = 6, gz: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """Both splits of a tiny fake MNIST in ``folder``; returns the test split's arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, (images_stem, labels_stem) in STEMS.items():
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) % 10
        for stem, array in ((images_stem, images), (labels_stem, labels)):
            raw = idx_bytes(array)
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / stem).write_bytes(raw)
        arrays[split] = images, labels
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_reads_plain_and_gzipped_files(tmp_path: Path, gz: bool) -> None:
    arrays = write_idx_set(tmp_path, gz=gz)
    data = load_data(DataConfig(spec=f"mnist:{tmp_path}", split="test"))
    images, labels = arrays["test"]
    assert data.name == f"mnist:{tmp_path}" and data.shape == (1, 28, 28)
    torch.testing.assert_close(data.x[:, 0], torch.from_numpy(images).float() / 255 * 2 - 1)
    assert data.y.tolist() == labels.tolist()


def test_resize_channels_and_classes(tmp_path: Path) -> None:
    write_idx_set(tmp_path)
    spec = f"fashion-mnist:{tmp_path}"
    data = load_data(DataConfig(spec=spec, image_size=32, channels=3, classes=[1, 2]))
    assert data.x.shape == (2, 3, 32, 32) and data.y.tolist() == [1, 2]
    assert data.class_names[1] == "Trouser"


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda raw: raw[:-10], r"is truncated: 4710 bytes, its header \(6, 28, 28\) needs 4720"),
        (lambda raw: raw[:7], "is truncated: 7 bytes is shorter than an IDX header"),
        (lambda raw: raw + b"extra", "is corrupt: 4725 bytes"),
        (lambda raw: b"\x00\x00\x0d\x03" + raw[4:], "is not an IDX file of 3-D unsigned bytes"),
    ],
)
def test_malformed_idx_files(tmp_path: Path, corrupt, message: str) -> None:
    write_idx_set(tmp_path, gz=False)
    path = tmp_path / STEMS["test"][0]
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(GankitError, match=message):
        load_data(DataConfig(spec=f"mnist:{tmp_path}", split="test"))


def test_broken_gzip(tmp_path: Path) -> None:
    write_idx_set(tmp_path)
    path = tmp_path / (STEMS["test"][0] + ".gz")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(GankitError, match="is not a valid gzip file"):
        read_idx(path, ndim=3)
    path.write_bytes(b"plain text, not gzip")
    with pytest.raises(GankitError, match="is not a valid gzip file"):
        read_idx(path, ndim=3)


def test_mismatched_labels(tmp_path: Path) -> None:
    write_idx_set(tmp_path, gz=False)
    (tmp_path / STEMS["test"][1]).write_bytes(idx_bytes(np.zeros(5, dtype=np.uint8)))
    with pytest.raises(GankitError, match=r"holds 6 images but .* 5 labels"):
        load_data(DataConfig(spec=f"mnist:{tmp_path}", split="test"))
    (tmp_path / STEMS["test"][1]).write_bytes(idx_bytes(np.full(6, 10, dtype=np.uint8)))
    with pytest.raises(GankitError, match=r"is corrupt: label 10 outside 0..9"):
        load_data(DataConfig(spec=f"mnist:{tmp_path}", split="test"))


def test_folder_without_the_files(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match=r"has no t10k-images-idx3-ubyte\[.gz\] or t10k-labels-idx1-ubyte\[.gz\]"):
        load_data(DataConfig(spec=f"mnist:{tmp_path}", split="test"))
    with pytest.raises(GankitError, match="no such directory"):
        load_data(DataConfig(spec=f"mnist:{tmp_path / 'missing'}"))


def test_offline_without_cache_names_files_and_folder(offline: Path) -> None:
    with pytest.raises(GankitError) as error:
        load_data(DataConfig(spec="fashion-mnist"))
    message = str(error.value)
    for stem in STEMS["train"] + STEMS["test"]:
        assert stem in message
    assert str(offline / "data" / "fashion-mnist") in message
    assert "network disabled in tests" in message and "fashion-mnist:DIR" in message
    assert "\n" not in message


@pytest.mark.parametrize("subfolder", [".", "MNIST/raw"])  # by hand, or where torchvision puts them
def test_cache_is_used_before_any_download(offline: Path, subfolder: str) -> None:
    write_idx_set(offline / "data" / "mnist" / subfolder)
    data = load_data(DataConfig(spec="mnist", split="test"))
    assert len(data) == 6 and data.name.startswith("mnist:")


def test_download_fills_the_cache(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(name: str, folder: Path) -> None:
        calls.append((name, folder))
        write_idx_set(folder / "FashionMNIST" / "raw", gz=False)

    monkeypatch.setattr(mnist, "download", fake_download)
    data = load_data(DataConfig(spec="fashion-mnist", split="test"))
    assert calls == [("fashion-mnist", offline / "data" / "fashion-mnist")] and len(data) == 6


@pytest.fixture
def shared_folder(shared_data: Path, request: pytest.FixtureRequest) -> Path:
    folder = shared_data / request.param
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return folder


@pytest.mark.parametrize("shared_folder", ["mnist"], indirect=True)
def test_real_mnist_test_split(shared_folder: Path) -> None:
    data = load_data(DataConfig(spec=f"mnist:{shared_folder}", split="test"))
    assert data.x.shape == (10_000, 1, 28, 28)
    assert data.x.min() == -1.0 and data.x.max() == 1.0
    assert torch.bincount(data.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("shared_folder", ["fashion-mnist"], indirect=True)
def test_real_fashion_mnist_test_split(shared_folder: Path) -> None:
    data = load_data(DataConfig(spec=f"fashion-mnist:{shared_folder}", split="test", image_size=32, classes=[9]))
    assert data.x.shape == (1000, 1, 32, 32)
    assert data.class_names[9] == "Ankle boot" and data.class_names[0] == "T-shirt/top"
