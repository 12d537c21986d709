"""Translate images with a trained translation model (CycleGAN, Zhu et al. 2017,
"Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"):
image files and folders, or a split of the run's own data, in; one PNG out per
image, optionally with the input and the reconstruction beside the translation.
``gankit translate`` is these functions.

    model = gankit.load("runs/facades")
    written = translate_files(model, ["photos/"], "b2a", Path("out/"), grid=True)
    print(written[0])   # out/<name>.png: input | translation | reconstruction
    translate_split(model, "a2b", Path("held-out/"))                  # domain A's test images, training size
    translate_files(model, ["big.jpg"], "a2b", Path("out/"), size=NATIVE)   # out/big.png at big.jpg's size
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor
from torchvision.transforms import InterpolationMode

from gankit.config import DataConfig
from gankit.data.dataset import DataSpec
from gankit.data.images import (
    DECODE_ERRORS,
    decode_file,
    decode_pixels,
    files_named_below_their_folder,
    find_images,
    read_header,
    to_signed,
)
from gankit.data.specs import load_data
from gankit.data.unpaired import domain_configs, split_parts
from gankit.errors import GankitError, note
from gankit.footprint import META, examples_per_pass, work_memory
from gankit.memory import check_fits
from gankit.report.plots import save_image_grid

CHUNK = 16  # images decoded and translated at a time (fewer when 16 would not fit), to bound memory
MAX_SIZE = 4096  # as data.image_size
ACTIVATION_CHANNELS = 256  # a rough bound on a translator's activation planes per pixel, for --size native
NATIVE = "native"  # size=NATIVE: each translation at its input's own width x height
Size = int | Literal["native"] | None  # None: the training size
Split = Literal["test", "train", "all"]
SPLITS: tuple[Split, ...] = ("test", "train", "all")


@dataclass(frozen=True)
class Source:
    """One image to translate, and the name its translation is written under (below ``out``)."""

    name: Path
    file: Path | None = None  # decoded from this file,
    image: Tensor | None = None  # or given: float [C, H, W] in [-1, 1] (data held as tensors: mnist, digits)


def refuse_overwriting_inputs(inputs: list[str | Path], found: list[tuple[Path, Path]], out: Path) -> None:
    """A GankitError, before anything is translated, when ``out`` is an input folder or a
    translation would be written over an input file."""
    target = Path(out).resolve()
    for item in map(Path, inputs):
        if item.is_dir() and item.resolve() == target:
            raise GankitError(f"--out {out} is the input folder {item}: the translations would replace the "
                              "inputs; choose another --out (or give --overwrite)")
    sources = {path.resolve() for path, _ in found}
    for _, name in found:
        if (target / name).resolve() in sources:
            raise GankitError(f"translating would write over the input {out / name}; choose another --out "
                              "(or give --overwrite)")


def translate_files(
    model,
    inputs: list[str | Path],
    direction: str,
    out: Path,
    *,
    grid: bool = False,
    size: Size = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``model``'s translation of every input image to ``out``; returns the files written.

    Images are decoded like training data (shorter side to ``size``, default the
    training size, then centre-cropped), with the model's channel count; with
    ``size=NATIVE`` each whole image is translated and written at its own size.
    ``grid`` writes input | translation | reconstruction side by side instead.
    An input is never written over (nor is an input folder the output) unless ``overwrite``.
    Folders are translated whole: :func:`translate_split` picks a split of the run's own data.
    """
    check_size(model, size)
    found = find_images(inputs)
    if not overwrite:
        refuse_overwriting_inputs(inputs, found, out)
    note_training_folders(model, inputs)
    return translate_sources(model, [Source(name, file=path) for path, name in found], direction, out, grid, size)


def translate_split(
    model,
    direction: str,
    out: Path,
    *,
    split: Split = "test",
    grid: bool = False,
    size: Size = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``model``'s translation of the ``split`` of its run's own source domain (domain A
    for ``a2b``, B for ``b2a``) to ``out``; ``test``, the default, is what training never saw.
    Images from files keep their names below their folder; images held as tensors (mnist,
    digits) are named ``<split>-<index>.png``. ``grid``, ``size`` and ``overwrite`` as in
    :func:`translate_files`."""
    if split not in SPLITS:
        raise GankitError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    check_size(model, size)
    sources = split_sources(model, direction, split, size)
    found = [(source.file, source.name) for source in sources if source.file is not None]
    if found and not overwrite:
        refuse_overwriting_inputs(sorted({path.parent for path, _ in found}), found, out)
    return translate_sources(model, sources, direction, out, grid, size)


def check_size(model, size: Size) -> None:
    """A GankitError for a ``size`` the model cannot translate at, before anything is read."""
    if size is None or size == NATIVE:
        return
    step = model.side_multiple
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % step or size > MAX_SIZE:
        raise GankitError(f"--size must be a positive multiple of {step} up to {MAX_SIZE} (or {NATIVE}), got {size}")


# --- the run's own data -------------------------------------------------------------------------
def source_domain(model, direction: str) -> tuple[str, DataConfig]:
    """The run's domain that ``direction`` translates from: as its spec writes it
    (``digits[classes=3]``), and its DataConfig."""
    if model.run_config is None:
        raise GankitError("this model comes from no run, so it has no data of its own: give image files or folders")
    config = model.run_config.data
    prefix, argument = DataSpec.of(config.spec)
    if prefix != "unpaired" or argument is None:
        raise GankitError(f"the run trained on {config.spec}, which is not two domains (unpaired:A,B); "
                          "give image files or folders")
    index = 0 if direction == "a2b" else 1
    return split_parts(argument)[index], domain_configs(argument, config)[index]


def split_sources(model, direction: str, split: Split, size: Size) -> list[Source]:
    """The images of ``split`` of the run's source domain, split as training split them."""
    _, config = source_domain(model, direction)
    splits = ("train", "test") if split == "all" else (split,)
    # Images held as tensors are loaded at the size they are translated at (for NATIVE, the
    # data set's own); images from files only need their list, and are decoded as they go.
    changes = {"channels": model.data_shape[0], "image_size": None if size == NATIVE else size or model.data_shape[-1]}
    if config.box is None:  # data.box frames images in memory; the files alone would lose the frame
        changes["in_memory"] = "never"
    parts = [load_data(replace(config, split=part, **changes)) for part in splits]
    if config.box is None and all(part.files is not None for part in parts):
        found = files_named_below_their_folder([path for part in parts for path in part.files])
        return [Source(name, file=path) for path, name in found]
    return [Source(Path(f"{part_split}-{index:05d}.png"), image=image)
            for part_split, part in zip(splits, parts, strict=True) for index, image in enumerate(part.x)]


def note_training_folders(model, inputs: list[str | Path]) -> None:
    """A note for an input folder that is one of the run's training domains: translated whole,
    it includes the images the run trained on (the split picks those it never saw)."""
    try:
        configs = [source_domain(model, direction)[1] for direction in ("a2b", "b2a")]
    except GankitError:
        return  # a model of no run, or of one data set: nothing to compare with
    for domain, config in zip("AB", configs, strict=True):
        prefix, folder = DataSpec.of(config.spec)
        if prefix != "folder" or folder is None:
            continue
        for item in map(Path, inputs):
            if item.is_dir() and item.resolve() == Path(folder).expanduser().resolve():
                note(f"{item} is domain {domain} of the run's training data, so its training images are translated "
                     "too; leave out INPUT to translate only its test split (--split)")


# --- translating --------------------------------------------------------------------------------
def translate_sources(model, sources: list[Source], direction: str, out: Path, grid: bool, size: Size) -> list[Path]:
    if size == NATIVE:
        return translate_native(model, sources, direction, out, grid)
    size = size or model.data_shape[-1]
    channels = model.data_shape[0]
    back = "b2a" if direction == "a2b" else "a2b"
    count = images_per_chunk(model, (channels, size, size), [direction, back] if grid else [direction])
    written = []
    for start in range(0, len(sources), count):
        chunk = sources[start : start + count]
        x = torch.stack([square_image(source, channels, size) for source in chunk])  # [K, C, S, S]
        for source, (image, translated, reconstructed) in zip(chunk, translations(model, x, direction, grid), strict=True):
            written.append(write(out / source.name, image, translated, reconstructed, direction))
    return written


def images_per_chunk(model, shape: tuple[int, int, int], directions: list[str]) -> int:
    """How many images of ``shape`` to translate at a time (through each of ``directions`` in
    turn): CHUNK, or as many as fit in the memory of the model's device; a GankitError when
    one does not fit."""
    return examples_per_pass(lambda count: translation_memory(model, shape, directions, count), CHUNK, model.device,
                             f"translating one image of {shape[1]} x {shape[2]} pixels", "lower --size")


def translation_memory(model, shape: tuple[int, int, int], directions: list[str], count: int) -> int:
    """Peak bytes, beyond the model's weights, of translating ``count`` images of ``shape``
    through each of ``directions`` in turn, keeping every result (as ``translate_sources``
    does), measured on the meta device (``gankit.footprint``)."""

    def translate(layers) -> None:
        kept = [torch.empty(count, *shape, device=META)]  # [count, C, S, S]
        for direction in directions:
            kept.append(layers.translate(kept[-1], direction))

    return work_memory(model, translate)


def translate_native(model, sources: list[Source], direction: str, out: Path, grid: bool) -> list[Path]:
    """Each source translated whole and written at its own width x height, one at a time.

    Why the generator runs at the training scale and not at the input's own resolution: it is
    fully convolutional, and the CycleGAN reference code translates test images at their full
    size. That suits the reference because it trains on crops at nearly full resolution (286 px
    images, 256 px crops), so a window is as many pixels wide at test time as in training.
    gankit trains on whole images brought to data.image_size, so the generator knows objects
    as wide as they are at that size; a 1,000 px input at its own resolution would show it
    windows ten times wider than any it learnt, which its residual blocks (a receptive field
    of a few dozen pixels) texture instead of translating. So each image keeps its aspect with
    its shorter side at the training size (sides rounded to the networks' stride), is
    translated there, and the translation is resized to the input's size. An input already at
    the training scale is translated at its own size, as the reference does; and memory
    follows the training size, not the input's, but for the input and output themselves.
    """
    channels, trained = model.data_shape[0], model.data_shape[-1]
    refuse_too_large(sources, channels, trained, model.side_multiple, grid)
    written = []
    for source in sources:
        image = native_image(source, channels)  # [C, H, W]: uint8 from a file, float when given
        height, width = image.shape[-2:]
        x = resize(image[None], working_shape(height, width, trained, model.side_multiple))  # [1, C, h, w]
        ((_, translated, reconstructed),) = translations(model, x, direction, grid)
        translated = resize(translated[None], (height, width))[0]
        if reconstructed is not None:
            reconstructed = resize(reconstructed[None], (height, width))[0]
        written.append(write(out / source.name, image, translated, reconstructed, direction))
    return written


def translations(model, x: Tensor, direction: str, grid: bool) -> Iterator[tuple[Tensor, Tensor, Tensor | None]]:
    """(input, translation, reconstruction or None) per image of ``x`` [K, C, H, W]."""
    if grid:
        translated, reconstructed = (y.cpu() for y in model.cycle(x, direction))
        return zip(x, translated, reconstructed, strict=True)
    return zip(x, model.translate(x, direction).cpu(), [None] * len(x), strict=True)


# Column labels of a --grid picture, written on the image (as the training previews' rows are).
GRID_COLUMNS = {"a2b": ["A", "G(A)", "F(G(A))"], "b2a": ["B", "F(B)", "G(F(B))"]}


def write(target: Path, image: Tensor, translated: Tensor, reconstructed: Tensor | None, direction: str) -> Path:
    """The translation, or input | translation | reconstruction, labelled, when there is a
    reconstruction (``image``: uint8 pixels or floats in [-1, 1])."""
    if reconstructed is not None:
        return save_image_grid(torch.stack([signed(image), translated, reconstructed]), target, nrow=3,
                               cols=GRID_COLUMNS[direction])
    return save_image_grid(translated[None], target, nrow=1, min_size=1)  # its own size


def square_image(source: Source, channels: int, size: int) -> Tensor:
    """float [C, size, size] in [-1, 1]: a file decoded like training data; a given image as it is
    (loaded at ``size``)."""
    if source.file is None:
        return source.image
    with reading(source.file):
        return to_signed(decode_file(source.file, channels, size))


def native_image(source: Source, channels: int) -> Tensor:
    """[C, H, W] at the image's own size: uint8 from a file, float in [-1, 1] when given."""
    if source.file is None:
        return source.image
    with reading(source.file):
        return decode_pixels(source.file, channels)


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """A decoder's error while reading ``path`` as one line: cannot read PATH as an image (why)."""
    try:
        yield
    except DECODE_ERRORS as error:
        raise GankitError(f"cannot read {path} as an image ({error})") from None


def working_shape(height: int, width: int, size: int, step: int) -> tuple[int, int]:
    """(h, w) an image of ``height`` x ``width`` is translated at: its shorter side at ``size``,
    the longer in proportion, both rounded to a multiple of ``step``."""
    scale = size / min(height, width)
    return max(step, round(height * scale / step) * step), max(step, round(width * scale / step) * step)


def resize(x: Tensor, shape: tuple[int, int]) -> Tensor:
    """[N, C, *shape] float in [-1, 1] from [N, C, H, W] uint8 pixels (resized before they are
    widened to floats, which take four times the memory) or floats in [-1, 1]."""
    resized = TF.resize(x, list(shape), interpolation=InterpolationMode.BILINEAR, antialias=True)
    return signed(resized).clamp(-1.0, 1.0)  # antialiased bilinear can overshoot


def signed(image: Tensor) -> Tensor:
    """Floats in [-1, 1] from uint8 pixels; floats as they are."""
    return to_signed(image) if image.dtype == torch.uint8 else image


def refuse_too_large(sources: list[Source], channels: int, trained: int, step: int, grid: bool) -> None:
    """A GankitError, before any translation, when the largest input cannot be translated at its own
    size in this machine's memory (its header gives the size; nothing is decoded)."""
    def size_of(source: Source) -> tuple[int, int]:
        if source.file is None:
            return tuple(source.image.shape[-2:])
        with reading(source.file):
            header = read_header(source.file)
        return header.height, header.width

    sizes = [size_of(source) for source in sources]
    index = max(range(len(sources)), key=lambda i: native_bytes(*sizes[i], channels, trained, step, grid))
    height, width = sizes[index]
    what = f"translating {sources[index].file or sources[index].name} ({width} x {height} pixels) at its own size"
    check_fits(native_bytes(height, width, channels, trained, step, grid), what,
               "leave out --size native to write the training size")


def native_bytes(height: int, width: int, channels: int, trained: int, step: int, grid: bool) -> int:
    """About the memory one image of ``height`` x ``width`` takes to translate at its own size."""
    pixels = channels * height * width
    decoded = 3 * pixels  # PIL's image, its array and the uint8 tensor
    # Per picture written (input, translation, reconstruction for a grid): float32 at full size,
    # the grid, its normalised copy, and the bytes PIL encodes.
    written = (3 if grid else 1) * pixels * (4 + 4 + 4 + 1)
    h, w = working_shape(height, width, trained, step)
    return decoded + written + ACTIVATION_CHANNELS * h * w * 4
