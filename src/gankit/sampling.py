"""Samples of a trained model written to disk in bounded batches (``gankit sample``).

A grid must be drawn in memory, so its size is checked against the machine's memory
first; an ``.npy`` array or a folder of PNGs streams: a million samples are drawn
``BATCH`` at a time and written as they come, never held as one tensor. Each batch's
latents are drawn at once (so a seed gives the same samples whatever the memory), and the
generator runs on as many of them at a time as fit in its device's memory, measured on
the meta device as ``gankit translate`` measures its chunks.

    check_sample_request(model_shape, 1_000_000, "npy", Path("samples.npy"))
    write_samples(model, 1_000_000, "npy", Path("samples.npy"), seed=0)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.files import atomic_write
from gankit.footprint import examples_per_pass, work_memory
from gankit.memory import check_disk, check_fits

BATCH = 256  # samples drawn at a time when streaming
GRID_COPIES = 4  # a grid holds the samples, the padded grid, its 8-bit copy and the plot's buffers


def check_sample_request(shape: tuple[int, ...], n: int, fmt: str, out: Path) -> None:
    """Refuse, before any sample is drawn, what cannot fit: a grid in memory, an array on disk."""
    if n <= 0:
        raise GankitError(f"--n must be > 0, got {n}")
    one = 4 * math.prod(shape)  # float32 bytes per sample
    if fmt == "png":
        check_fits(GRID_COPIES * n * one, f"a grid of {n} samples",
                   "use --format npy or --format folder, which stream to disk in batches")
    else:
        png_factor = 1 if fmt == "npy" else 2  # a folder's PNGs: compressed, but with per-file overhead
        check_disk(out.parent if fmt == "npy" else out, png_factor * n * one, f"{n} samples")


def write_samples(model, n: int, fmt: str, out: Path, *, seed: int, options: dict, modes=None) -> Path:
    """Draw ``n`` samples with ``seed`` and write them as ``fmt`` (png grid, npy array, folder)."""
    from gankit.report.plots import save_image_grid, save_samples

    generator = torch.Generator().manual_seed(seed)
    per_pass = samples_per_pass(model, min(BATCH, n), options)

    def batches():
        for start in range(0, n, BATCH):
            yield model.sample(min(BATCH, n - start), generator=generator, per_pass=per_pass, **options).cpu()

    if fmt == "png":
        samples = torch.cat(list(batches()))
        return save_samples(samples, out, modes, title=f"{n} samples")
    if fmt == "npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (n, *model.data_shape)}

        def stream(f) -> None:
            np.lib.format.write_array_header_1_0(f, header)
            for batch in batches():
                f.write(batch.float().numpy().tobytes())

        return atomic_write(out, stream)
    if not model.is_image_model:
        raise GankitError("--format folder writes images; this model makes points: use png or npy")
    index = 0
    for batch in batches():
        for image in batch:
            save_image_grid(image[None], out / f"{index:06d}.png", nrow=1, min_size=0)  # native size
            index += 1
    return out


def samples_per_pass(model, count: int, options: dict) -> int:
    """How many samples the generator makes at a time: ``count``, or as many as fit in the memory
    of the model's device; a GankitError when one does not fit."""
    what = f"drawing one sample of {' x '.join(map(str, model.data_shape))}"
    return examples_per_pass(lambda k: sampling_memory(model, k, options), count, model.device, what,
                             "use a machine or device with more memory")


def sampling_memory(model, count: int, options: dict) -> int:
    """Peak bytes, beyond the model's weights, of ``model.sample(count)``, measured on the meta
    device (``gankit.footprint``)."""
    return work_memory(model, lambda layers: layers.sample(count, **options))
