"""Image files in and out for ``gankit project`` and ``gankit inpaint``: inputs decoded at the
model's size like training data, PNGs written from exact 8-bit pixels, a summary CSV.

    images = read_images(["photos/"], model)           # [(InputImage(path, name, pixels uint8 [C, S, S])]
    write_png(out / "a.png", images[0].pixels)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gankit.data.images import DECODE_ERRORS, open_image, to_signed
from gankit.errors import GankitError, note
from gankit.files import atomic_write
from gankit.translation import find_images


@dataclass
class InputImage:
    path: Path
    name: Path  # output name relative to the output folder, without suffix
    pixels: Tensor  # uint8 [C, S, S] at the model's size


def read_images(inputs: list[str | Path], model) -> list[InputImage]:
    """Every image among ``inputs`` (files or folders, searched recursively) at the model's channels
    and size; an image of another size is resized (shorter side, then centre crop) with a warning."""
    from gankit.data.images import decode_file

    channels, size = model.data_shape[0], model.data_shape[-1]
    images, resized = [], []
    for path, name in find_images(inputs):
        try:
            with open_image(path) as image:
                if image.size != (size, size):
                    resized.append(f"{path.name} ({image.size[0]}x{image.size[1]})")
            pixels = decode_file(path, channels, size)
        except DECODE_ERRORS as error:
            raise GankitError(f"cannot read {path} as an image ({error})") from None
        images.append(InputImage(path, name.with_suffix(""), pixels))
    if resized:
        more = f" and {len(resized) - 3} more" if len(resized) > 3 else ""
        note(f"resized to the model's {size}x{size} px: {', '.join(resized[:3])}{more}")
    return images


def batch(images: list[InputImage]) -> Tensor:
    return to_signed(torch.stack([image.pixels for image in images]))  # [N, C, S, S] in [-1, 1]


def quantize(x: Tensor) -> Tensor:
    """uint8 pixels from images in [-1, 1] (the inverse of ``to_signed`` on its own values)."""
    return ((x.detach().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def write_png(path: Path, pixels: Tensor) -> Path:
    """Write uint8 [C, H, W] exactly as given (grey or RGB), atomically."""
    array = pixels.permute(1, 2, 0).numpy()  # [H, W, C]
    image = Image.fromarray(np.ascontiguousarray(array[..., 0] if array.shape[-1] == 1 else array))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: image.save(f, format="PNG"))
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(f) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")  # the atomic writer hands a binary file
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        text.flush()
        text.detach()  # leave the file open for the writer's fsync

    atomic_write(path, write)
    return path


def output_paths(out: Path, images: list[InputImage], suffixes: list[str]) -> list[list[Path]]:
    """Per image, ``out/NAME{suffix}`` for each suffix; refuses, before anything is written, to
    write over one of the inputs (out may be the input folder)."""
    paths = [[out / f"{image.name}{suffix}" for suffix in suffixes] for image in images]
    inputs = {image.path.resolve() for image in images}
    for path in (p for row in paths for p in row):
        if path.resolve() in inputs:
            raise GankitError(f"writing {path} would overwrite an input image; choose another --out")
    return paths
