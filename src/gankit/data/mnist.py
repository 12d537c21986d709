"""MNIST and Fashion-MNIST from their four official IDX files ("Fashion-MNIST: a
Novel Image Dataset for Benchmarking Machine Learning Algorithms", Xiao et al.,
2017), read from a folder the user names, or from a cache folder that
torchvision fills when the network allows.

    data = load_data(DataConfig(spec="fashion-mnist:/data/fashion-mnist", split="test"))   # load_idx_set(KnownSetSpec(...))
    data.x.shape                  # (10000, 1, 28, 28)
    data.class_names[data.y[0]]   # "Ankle boot"
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision.datasets

from gankit.data.dataset import Data, existing_dir, keep_classes
from gankit.data.idx import read_idx
from gankit.data.images import grey_to_signed
from gankit.data.kinds import KnownSetSpec
from gankit.rundir import gankit_home
from gankit.errors import GankitError

NATIVE_SIZE = 28
FILES = {  # split -> (images, labels), each stored plain or as .gz
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = ", ".join(FILES["train"] + FILES["test"])


@dataclass(frozen=True)
class IdxSet:
    torchvision_name: str  # class in torchvision.datasets; also its download subfolder
    class_names: list[str]


IDX_SETS = {
    "mnist": IdxSet("MNIST", [str(digit) for digit in range(10)]),
    "fashion-mnist": IdxSet(
        "FashionMNIST",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
}


def cache_dir(name: str) -> Path:
    """Where ``name`` is looked for when the spec names no folder: $GANKIT_HOME or ~/.cache/gankit."""
    return gankit_home() / "data" / name


def download(name: str, folder: Path) -> None:
    """Fetch all four files into ``folder`` with torchvision (it checks their md5 sums)."""
    dataset_class = getattr(torchvision.datasets, IDX_SETS[name].torchvision_name)
    dataset_class(root=str(folder), train=False, download=True)


def load_idx_set(spec: KnownSetSpec) -> Data:
    name = spec.prefix  # mnist or fashion-mnist
    image_path, label_path = _locate(name, spec.folder, spec.split)
    images = read_idx(image_path, ndim=3)  # uint8 [N, H, W]
    labels = read_idx(label_path, ndim=1)  # uint8 [N]
    class_names = IDX_SETS[name].class_names
    if images.shape[0] != labels.shape[0]:
        raise GankitError(f"{image_path} holds {images.shape[0]} images but {label_path} {labels.shape[0]} labels")
    if labels.size and labels.max() >= len(class_names):
        raise GankitError(f"{label_path} is corrupt: label {labels.max()} outside 0..{len(class_names) - 1}")
    y = torch.from_numpy(labels.astype(np.int64))  # [N]
    keep = keep_classes(y, class_names, spec.classes, name)
    x = torch.from_numpy(images[keep.numpy()]).float().div(255.0).unsqueeze(1)  # [K, 1, H, W] in [0, 1]
    x = grey_to_signed(x, spec.image_size or NATIVE_SIZE, spec.channels)
    return Data(
        name=f"{name}:{image_path.parent}",
        kind="image",
        shape=tuple(x.shape[1:]),
        class_names=list(class_names),
        x=x,
        y=y[keep],
        source=None,
    )


def _locate(name: str, arg: str | None, split: str) -> tuple[Path, Path]:
    """Paths of the split's image and label files; downloads into the cache when needed."""
    folder = existing_dir(arg, f"{name}:{arg}") if arg is not None else cache_dir(name)
    paths = _find(name, folder, FILES[split])
    if None not in paths:
        return paths
    if arg is not None:
        missing = " or ".join(f"{stem}[.gz]" for stem, path in zip(FILES[split], paths, strict=True) if path is None)
        raise GankitError(f"{name}:{arg}: {folder} has no {missing} (the official IDX files)")
    try:
        download(name, folder)
    except (OSError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GankitError(
            f"{name} is not in {folder} and downloading it failed ({reason}); put the four IDX files "
            f"({ALL_FILES}, plain or .gz) in that folder, or pass one with {name}:DIR"
        ) from None
    paths = _find(name, folder, FILES[split])
    if None in paths:
        raise GankitError(f"{name}: the download into {folder} did not produce {ALL_FILES}; use {name}:DIR")
    return paths


def _find(name: str, folder: Path, stems: tuple[str, str]) -> tuple[Path | None, Path | None]:
    # Files put there by hand sit in the folder; torchvision downloads into FOLDER/<ClassName>/raw.
    folders = [folder, folder / IDX_SETS[name].torchvision_name / "raw"]

    def first(stem: str) -> Path | None:
        candidates = (place / (stem + suffix) for place in folders for suffix in ("", ".gz"))
        return next((path for path in candidates if path.is_file()), None)

    return first(stems[0]), first(stems[1])
