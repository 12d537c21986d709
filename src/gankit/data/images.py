"""Image decoding and tensor preparation shared by the image specs.

Files are decoded with PIL into 8-bit grey (``L``) or ``RGB`` whatever their
stored mode (palette, alpha, 16-bit, CMYK), then resized with torchvision so
that every spec hands the models the same thing: float32 ``[C, H, W]`` in
``[-1, 1]``.

    header = read_header(path)            # mode and size without decoding pixels
    image = decode_file(path, channels=3, size=64)   # uint8 [3, 64, 64]: shorter side, centre crop
    image = decode_whole(path, channels=3, size=64)  # uint8 [3, 64, 64]: the whole image (defect folders)
    x = to_signed(image)                  # float32 in [-1, 1]
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.transforms import InterpolationMode

from gankit.errors import GankitError
from gankit.memory import check_fits

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
# PIL's format plugins raise all of these on malformed input, not only OSError.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, Image.DecompressionBombError)


class TooLargeError(ValueError):
    """An image over PIL's ``Image.MAX_IMAGE_PIXELS`` (a possible decompression bomb)."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    grey: bool


@contextmanager
def open_image(path: Path | BinaryIO, max_pixels: int | None = None) -> Iterator[Image.Image]:
    """``Image.open`` (of a file or a file object) that refuses, before decoding a pixel, any image
    over ``max_pixels`` (default PIL's ``Image.MAX_IMAGE_PIXELS``): PIL itself only warns up to twice
    that limit and would decode such a possible decompression bomb. Callers that want quiet should
    silence ``Image.DecompressionBombWarning`` (not here: warning filters are
    process-wide and the loaders call this from threads)."""
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    with Image.open(path) as image:
        width, height = image.size
        if limit is not None and width * height > limit:
            named = "PIL's Image.MAX_IMAGE_PIXELS" if max_pixels is None else f"the limit of {limit} pixels"
            raise TooLargeError(f"{width}x{height} pixels is over {named}")
        yield image


def read_header(path: Path | BinaryIO, max_pixels: int | None = None) -> Header:
    """Size and greyness from the file header; raises one of DECODE_ERRORS for non-images
    and :class:`TooLargeError` for images over the pixel limit (see ``open_image``)."""
    with open_image(path, max_pixels) as image:
        return Header(*image.size, _is_grey(image))


def _is_grey(image: Image.Image) -> bool:
    if image.mode in ("P", "PA"):
        palette = np.asarray(image.getpalette() or [], dtype=np.uint8).reshape(-1, 3)  # [K, RGB]
        return bool((palette == palette[:, :1]).all())
    return image.mode in GREY_MODES


def decode_file(path: Path | BinaryIO, channels: int, size: int, max_pixels: int | None = None) -> Tensor:
    """uint8 [channels, size, size]: shorter side resized to ``size``, then centre-cropped."""
    return square(decode_pixels(path, channels, max_pixels), size)  # [C, size, size]


def decode_whole(path: Path | BinaryIO, channels: int, size: int, max_pixels: int | None = None) -> Tensor:
    """uint8 [channels, size, size]: the whole image resized, not cropped, so that no defect near its
    edges is cut off (how the anomaly-detection folder protocols read their images)."""
    tensor = decode_pixels(path, channels, max_pixels)  # [C, H, W], upright like every other reader
    resized = F.interpolate(tensor[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized[0].round().clamp(0, 255).to(torch.uint8)


def decode_pixels(path: Path | BinaryIO, channels: int, max_pixels: int | None = None) -> Tensor:
    """uint8 [channels, H, W] at the image's own size, upright (EXIF rotation applied)."""
    with open_image(path, max_pixels) as image:
        image = ImageOps.exif_transpose(image)  # camera photos store rotation as a tag
        pixels = to_mode(image, "L" if channels == 1 else "RGB")
    array = np.array(pixels, dtype=np.uint8)  # [H, W] or [H, W, 3]
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)  # [C, H, W]


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """``image`` as 8-bit ``L`` or ``RGB``: alpha composited on black, 16-bit scaled down."""
    if image.mode in SIXTEEN_BIT_MODES:
        # PIL's own conversion clips 16-bit values at 255; scale the range instead.
        wide = np.asarray(image).astype(np.float32)  # [H, W]
        image = Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), "L")
    elif image.mode in ("LA", "PA", "RGBA") or "transparency" in image.info:
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, image.convert("RGBA")).convert("RGB")
    return image if image.mode == mode else image.convert(mode)


def square(image: Tensor, size: int) -> Tensor:
    """[C, size, size] from [C, H, W]: shorter side to ``size``, centre crop (no distortion)."""
    if image.shape[-2:] != (size, size):
        image = TF.resize(image, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
        image = TF.center_crop(image, [size, size])
    return image


def resize_batch(x: Tensor, size: int) -> Tensor:
    """[N, C, size, size] from square [N, C, H, W] float images (bilinear, antialiased)."""
    if x.shape[-2:] == (size, size):
        return x
    return TF.resize(x, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)


def to_signed(image: Tensor) -> Tensor:
    """float32 in [-1, 1] from uint8 in [0, 255]."""
    return image.to(torch.float32).div_(127.5).sub_(1.0)


def grey_to_signed(x: Tensor, size: int, channels: int | None) -> Tensor:
    """[N, C, size, size] in [-1, 1] from grey float images [N, 1, H, W] in [0, 1]."""
    # The resize, the clamp and the RGB copy each hold a full set: refuse what cannot fit, up front.
    check_fits(3 * x.shape[0] * (channels or 1) * size * size * 4, f"{x.shape[0]} images of {size} x {size} pixels",
               "lower data.image_size")
    x = resize_batch(x, size).clamp(0.0, 1.0).mul_(2.0).sub_(1.0)  # antialiased bilinear can overshoot
    return x.repeat(1, 3, 1, 1) if channels == 3 else x  # [N, C, size, size]


def model_images(x: Tensor | np.ndarray, channels: int, size: int | None, where: str) -> Tensor:
    """Images a caller hands a model ([N, C, H, W] floats in [-1, 1], a tensor or a numpy
    array) as float32, or a one-line GankitError: integer pixels (0..255 would silently
    saturate), NaN or inf, or a shape the networks cannot take."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fiub":
            raise GankitError(f"{where} takes numeric images, got a numpy array of dtype {x.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise GankitError(f"{where} takes images as a tensor or numpy array [N, C, H, W], got {type(x).__name__}")
    if not x.is_floating_point():
        raise GankitError(f"{where} takes float images in [-1, 1], got {str(x.dtype).removeprefix('torch.')} "
                          "(for 0..255 pixels use x / 127.5 - 1)")
    expected = f"[N, {channels}, {size or 'H'}, {size or 'W'}]"
    if x.dim() != 4 or x.shape[1] != channels or (size is not None and tuple(x.shape[2:]) != (size, size)):
        raise GankitError(f"{where} expects images {expected}, got {list(x.shape)}")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise GankitError(f"{where}: the images hold {bad} NaN or infinite value(s)")
    return x.float()


def find_images(inputs: list[str | Path]) -> list[tuple[Path, Path]]:
    """(file, output name) for every image among ``inputs``; folders are searched recursively
    and keep their layout below the folder, so equal names in different folders never collide."""
    found: list[tuple[Path, Path]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            found += [(p, p.relative_to(item).with_suffix(".png")) for p in files]
        elif item.is_file():
            found.append((item, Path(item.stem + ".png")))
        else:
            raise GankitError(f"input not found: {item}")
    if not found:
        raise GankitError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {', '.join(map(str, inputs))}")
    return without_clashes(found, "give them separately")


def files_named_below_their_folder(files: list[Path]) -> list[tuple[Path, Path]]:
    """(file, output name) for files of one data set: each named by its path below the folder
    the files share, so a set's layout (``test/``, class folders) is kept."""
    common = Path(os.path.commonpath([path.parent for path in files]))
    found = [(path, path.relative_to(common).with_suffix(".png")) for path in files]
    return without_clashes(found, "rename one of them")


def without_clashes(found: list[tuple[Path, Path]], advice: str) -> list[tuple[Path, Path]]:
    """``found``, or a GankitError when two files would be written under one name (``a.jpg`` and ``a.png``)."""
    seen: dict[Path, Path] = {}
    for path, name in found:
        if name in seen:
            raise GankitError(f"{seen[name]} and {path} would both be written as {name}; {advice}")
        seen[name] = path
    return found
