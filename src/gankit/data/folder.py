"""Any folder of images as a data set: first-level subfolders are classes, files
that do not decode are skipped with one warning, and sets too big for memory
are streamed from disk one file per item.

    data = load_data(DataConfig(spec="folder:photos/", image_size=64))   # load_folder(FolderSpec(...))
    data.class_names      # sorted subfolder names, e.g. ["cat", "dog"]
    data.x is None        # True when the set was too big and data.source streams it
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, TypeVar

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gankit.data.dataset import Data, existing_dir, fixed_split, keep_classes
from gankit.data.images import DECODE_ERRORS, IMAGE_EXTENSIONS, Header, decode_file, read_header, to_signed
from gankit.data.kinds import FolderSpec
from gankit.errors import GankitError, note

DEFAULT_SIZE = 64  # when images differ in size and data.image_size is unset
SKIPPED_NAMES_SHOWN = 5
_T = TypeVar("_T")


class FolderSource(Dataset):
    """Decodes one file per item; holds only paths, so DataLoader workers can pickle it."""

    def __init__(self, files: list[Path], labels: list[int], channels: int, size: int) -> None:
        self.files = [str(path) for path in files]
        self.labels = labels
        self.channels = channels
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path = self.files[index]
        try:
            image = decode_file(Path(path), self.channels, self.size)  # uint8 [C, S, S]
        except DECODE_ERRORS as error:
            # Streaming only read headers up front, so damage past the header shows here.
            raise GankitError(f"cannot decode {path} ({error}); remove it or use data.in_memory=always") from None
        return to_signed(image), self.labels[index]


def load_folder(spec: FolderSpec) -> Data:
    name = f"folder:{spec.folder}"
    root = existing_dir(spec.folder, name)
    files, labels, class_names, in_split = _list_images(root, spec.split)
    if not files:
        extensions = " ".join(sorted(IMAGE_EXTENSIONS))
        raise GankitError(f"{name}: no image files ({extensions}) under {root}")
    if not in_split:
        raise GankitError(f"{name}: the {spec.split} split is empty ({len(files)} images in all)")
    split_labels = torch.tensor([labels[i] for i in in_split], dtype=torch.long)
    chosen = [in_split[i] for i in keep_classes(split_labels, class_names, spec.classes, name).tolist()]

    # Channels and size left to us are decided from every file of the folder, so that the
    # train and test splits (and any class filter) of one folder always agree in shape.
    probed = chosen if spec.channels and spec.image_size else range(len(files))
    with warnings.catch_warnings():
        # Oversized images come back as TooLargeError; PIL's warning would only repeat it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        headers = dict(zip(probed, _parallel(_probe, [files[i] for i in probed]), strict=True))
    skipped = [(files[i], headers[i]) for i in chosen if isinstance(headers[i], str)]
    chosen = [i for i in chosen if not isinstance(headers[i], str)]
    if not chosen:
        _raise_none_decoded(name, skipped)
    readable = [header for header in headers.values() if not isinstance(header, str)]
    channels = spec.channels or (1 if all(header.grey for header in readable) else 3)
    size = spec.image_size or _common_size(readable)

    nbytes = len(chosen) * channels * size * size * 4  # as float32 in memory
    x = None
    if spec.in_memory == "always" or (spec.in_memory == "auto" and nbytes <= spec.max_memory_mb * 2**20):
        images = _parallel(lambda path: _decode(path, channels, size), [files[i] for i in chosen])
        skipped += [(files[i], image) for i, image in zip(chosen, images, strict=True) if isinstance(image, str)]
        decoded = [(i, image) for i, image in zip(chosen, images, strict=True) if not isinstance(image, str)]
        if not decoded:
            _raise_none_decoded(name, skipped)
        chosen = [i for i, _ in decoded]
        x = to_signed(torch.stack([image for _, image in decoded]))  # [N, C, S, S]
    _warn_skipped(name, root, skipped)
    chosen_files, chosen_labels = [files[i] for i in chosen], [labels[i] for i in chosen]
    return Data(
        name=f"folder:{root}",
        kind="image",
        shape=(channels, size, size),
        class_names=class_names,
        x=x,
        y=torch.tensor(chosen_labels, dtype=torch.long),
        source=None if x is not None else FolderSource(chosen_files, chosen_labels, channels, size),
        files=chosen_files,
    )


def _list_images(root: Path, split: str) -> tuple[list[Path], list[int], list[str], list[int]]:
    """Every image path of the folder (sorted), their labels, the class names, and which
    indices form the split: ``train/`` and ``test/`` when both exist, else a fixed 80/20 split."""
    train, test = root / "train", root / "test"
    if train.is_dir() and test.is_dir():
        relative = {"train": _images_under(train), "test": _images_under(test)}
        files = [root / name / path for name in ("train", "test") for path in relative[name]]
        relative_paths = relative["train"] + relative["test"]
        boundary = len(relative["train"])
        in_split = list(range(boundary) if split == "train" else range(boundary, len(files)))
    else:
        relative_paths = _images_under(root)
        files = [root / path for path in relative_paths]
        in_split = fixed_split(len(files), split).tolist()
    class_names = sorted({path.parts[0] for path in relative_paths if len(path.parts) > 1})
    index = {name: i for i, name in enumerate(class_names)}
    labels = [index[path.parts[0]] if len(path.parts) > 1 else -1 for path in relative_paths]
    return files, labels, class_names, in_split


def _images_under(root: Path) -> list[Path]:
    """Image files below ``root``, relative to it, sorted; hidden files and folders are skipped
    (``.ipynb_checkpoints``, macOS ``._name`` resource forks)."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(folder, name).relative_to(root))
    return sorted(found)


def _parallel(function: Callable[[Path], _T], files: list[Path]) -> list[_T]:
    # PIL releases the GIL while decoding, so threads overlap file reads and decoding.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(function, files))


def _probe(path: Path) -> Header | str:
    try:
        return read_header(path)
    except DECODE_ERRORS as error:
        return _reason(error)


def _decode(path: Path, channels: int, size: int) -> Tensor | str:
    try:
        return decode_file(path, channels, size)  # uint8 [C, S, S]
    except DECODE_ERRORS as error:
        return _reason(error)


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _common_size(headers: list[Header]) -> int:
    sizes = {(header.width, header.height) for header in headers}
    if len(sizes) == 1:
        width, height = sizes.pop()
        if width == height:
            return width
    return DEFAULT_SIZE


def _raise_none_decoded(spec: str, skipped: list[tuple[Path, str]]) -> NoReturn:
    path, reason = skipped[0]
    raise GankitError(f"{spec}: none of the {len(skipped)} image files could be decoded (e.g. {path.name}: {reason})")


def _warn_skipped(spec: str, root: Path, skipped: list[tuple[Path, str]]) -> None:
    if not skipped:
        return
    shown = ", ".join(f"{path.relative_to(root)} ({reason})" for path, reason in skipped[:SKIPPED_NAMES_SHOWN])
    more = f" and {len(skipped) - SKIPPED_NAMES_SHOWN} more" if len(skipped) > SKIPPED_NAMES_SHOWN else ""
    note(f"{spec}: skipped {len(skipped)} file(s) that could not be decoded: {shown}{more}")
