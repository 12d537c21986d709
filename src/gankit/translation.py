"""Translate image files with a trained translation model (CycleGAN, Zhu et al. 2017,
"Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"):
files and folders in, one PNG out per input, optionally with the input and the
reconstruction beside the translation. ``gankit translate`` is this function.

    model = gankit.load("runs/facades")
    written = translate_files(model, ["photos/"], "b2a", Path("out/"), grid=True)
    print(written[0])   # out/<name>.png: input | translation | reconstruction
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.data.images import DECODE_ERRORS, decode_file, find_images, to_signed
from gankit.errors import GankitError
from gankit.footprint import device_memory, largest_count, peak_memory
from gankit.memory import check_fits
from gankit.report.plots import save_image_grid

CHUNK = 16  # images decoded and translated at a time (fewer when 16 would not fit), to bound memory
MAX_SIZE = 4096  # as data.image_size


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
    size: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``model``'s translation of every input image to ``out``; returns the files written.

    Images are decoded like training data (shorter side to ``size``, default the
    training size, then centre-cropped), with the model's channel count.
    ``grid`` writes input | translation | reconstruction side by side instead.
    An input is never written over (nor is an input folder the output) unless ``overwrite``.
    """
    channels, trained_size = model.data_shape[0], model.data_shape[-1]
    size = size or trained_size
    if size <= 0 or size % 4 or size > MAX_SIZE:
        raise GankitError(f"--size must be a positive multiple of 4 up to {MAX_SIZE}, got {size}")
    back = "b2a" if direction == "a2b" else "a2b"
    chunk = images_per_chunk(model, (channels, size, size), [direction, back] if grid else [direction])
    written = []
    found = find_images(inputs)
    if not overwrite:
        refuse_overwriting_inputs(inputs, found, out)
    for start in range(0, len(found), chunk):
        paths = found[start : start + chunk]
        images = []
        for path, _ in paths:
            try:
                images.append(to_signed(decode_file(path, channels, size)))  # [C, S, S]
            except DECODE_ERRORS as error:
                raise GankitError(f"cannot read {path} as an image ({error})") from None
        x = torch.stack(images)  # [K, C, S, S]
        translated = model.translate(x, direction).cpu()
        reconstructed = model.translate(translated, back).cpu() if grid else None
        for i, (_, name) in enumerate(paths):
            target = out / name
            if grid:
                save_image_grid(torch.stack([x[i], translated[i], reconstructed[i]]), target, nrow=3)
            else:
                save_image_grid(translated[i : i + 1], target, nrow=1, min_size=1)  # native size
            written.append(target)
    return written


def images_per_chunk(model, shape: tuple[int, int, int], directions: list[str]) -> int:
    """How many images of ``shape`` to translate at a time (through each of ``directions`` in
    turn): CHUNK, or as many as fit in the memory of the model's device, the translations'
    peak measured on fake tensors (``gankit.footprint``); a GankitError when one does not fit."""

    def needed(count: int) -> int:
        def translate() -> None:
            kept = [torch.empty(count, *shape, device=model.device)]  # [count, C, S, S]; all kept, as below
            for direction in directions:
                kept.append(model.translate(kept[-1], direction))

        return peak_memory(translate)

    try:
        full = needed(CHUNK)
    except Exception:  # an operation fake tensors cannot run: no estimate, and translating will tell
        return CHUNK
    room = device_memory(model.device)
    if full <= room[0]:
        return CHUNK
    one = needed(1)
    check_fits(one, f"translating one image of {shape[1]} x {shape[2]} pixels", "lower --size", room)
    return largest_count(one, full, CHUNK, room[0])
