"""Masks for inpainting, True where pixels are missing (the hole): read from files (white =
missing, the usual convention of inpainting tools), one for every image or one per image from a
folder, or generated from a spec so that users without masks can try inpainting.

    hole = generated_masks("center:0.4", n=8, size=32, seed=0)      # bool [8, 1, 32, 32]
    hole = generated_masks("random-boxes:3", n=8, size=32, seed=0)  # three random boxes per image
    hole = generated_masks("lines", n=8, size=32, seed=0)           # random strokes
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from gankit.data.images import DECODE_ERRORS, IMAGE_EXTENSIONS, decode_file, read_header
from gankit.errors import GankitError

GENERATED = ("center", "random-boxes", "lines")
SPEC_HELP = "center:FRACTION (0 < FRACTION < 1, of the area), random-boxes:COUNT or lines"


def generated_masks(spec: str, n: int, size: int, seed: int = 0) -> Tensor:
    """bool [n, 1, size, size] from ``center:F``, ``random-boxes:K`` or ``lines``; image i's random
    mask depends only on (seed, i), so a set's masks do not change with the batch size."""
    kind, _, value = spec.partition(":")
    if kind == "center":
        fraction = _number(spec, value, float)
        if not 0 < fraction < 1:
            raise GankitError(f"--mask {spec}: the centre square's share of the area must be in (0, 1)")
        side = min(size - 1, max(1, round(size * math.sqrt(fraction))))
        low = (size - side) // 2
        hole = torch.zeros(n, 1, size, size, dtype=torch.bool)
        hole[..., low : low + side, low : low + side] = True
        return hole
    if kind == "random-boxes":
        count = _number(spec, value, int)
        if count < 1:
            raise GankitError(f"--mask {spec}: the number of boxes must be >= 1")
        return torch.stack([_boxes(count, size, np.random.default_rng([seed, i])) for i in range(n)])
    if kind == "lines" and not value:
        return torch.stack([_lines(size, np.random.default_rng([seed, i])) for i in range(n)])
    raise GankitError(f"--mask {spec!r} is neither a mask file or folder nor a generated mask ({SPEC_HELP})")


def _number(spec: str, value: str, kind):
    try:
        return kind(value)
    except ValueError:
        raise GankitError(f"--mask {spec!r}: expected {SPEC_HELP}") from None


def _boxes(count: int, size: int, rng: np.random.Generator) -> Tensor:
    """Boxes whose sides are 1/8 to 3/8 of the image's, anywhere inside it."""
    hole = torch.zeros(1, size, size, dtype=torch.bool)
    for _ in range(count):
        h, w = (int(rng.integers(max(1, size // 8), max(2, 3 * size // 8) + 1)) for _ in range(2))
        top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        hole[:, top : top + h, left : left + w] = True
    return _keep_something_known(hole)


def _lines(size: int, rng: np.random.Generator) -> Tensor:
    """Four to six random strokes about a tenth of the image wide, like scratches."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(4, 7))):
        points = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
        draw.line(points, fill=255, width=max(1, size // 10))
    return _keep_something_known(torch.from_numpy(np.array(canvas) > 127)[None])


def _keep_something_known(hole: Tensor) -> Tensor:
    if hole.all():  # an unlucky draw at a tiny size: keep one corner known
        hole[..., 0, 0] = False
    return hole


def read_mask(path: Path, size: int, image_size: tuple[int, int] | None = None) -> Tensor:
    """bool [1, size, size] from a mask file (brighter than half = missing), brought to the model's
    size like its image; a mask whose size differs from its image's is an error, not a guess."""
    try:
        header = read_header(path)
        if image_size is not None and (header.width, header.height) != image_size:
            raise GankitError(f"mask {path} is {header.width}x{header.height} px but its image is "
                              f"{image_size[0]}x{image_size[1]} px; give a mask of the image's size")
        return decode_file(path, 1, size) > 127
    except DECODE_ERRORS as error:
        raise GankitError(f"mask {path} is not an image ({error})") from None


def find_mask(folder: Path, name: Path) -> Path:
    """The mask of image ``name`` (its path below the input folder, without suffix) in ``folder``."""
    for candidate in sorted(folder.glob(f"{name}.*")):
        if candidate.suffix.lower() in IMAGE_EXTENSIONS:
            return candidate
    raise GankitError(f"no mask for {name} in {folder} (expected {folder / name}.png)")


def check_masks(hole: Tensor, names: list[str]) -> None:
    """One line for a mask that leaves nothing to fill or nothing known."""
    for i, name in enumerate(names):
        if not hole[i].any():
            raise GankitError(f"the mask of {name} marks no pixel missing (white = missing): nothing to inpaint")
        if hole[i].all():
            raise GankitError(f"the mask of {name} marks every pixel missing: nothing is known to inpaint from")
