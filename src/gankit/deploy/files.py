"""Files in, files out for exported models: a folder scored to the CSV of ``gankit score`` (and
overlays), images translated to PNGs, samples written as a grid. Used by ``python -m gankit.deploy``.

    rows = score_folder(model, "photos/", "scores.csv", maps="maps/")
    translate_folder(model, ["labels/"], "photos/")
    sample_files(model, "grid.png", n=64, seed=3, psi=0.7)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.utils import save_image

from gankit.data.images import DECODE_ERRORS, find_images, to_signed
from gankit.errors import GankitError

CHUNK = 64  # images decoded and run at a time, to bound memory on large folders
COLUMNS = ["index", "name", "kind", "label", "score", "normalized", "decision"]  # as `gankit score` writes


def read_images(paths: list[Path], model) -> np.ndarray:
    """float32 [N, C, S, S] in [-1, 1] (the exported ``model``'s ``image_shape``), decoded and resized
    as the run's images are."""
    images = []
    for path in paths:
        try:
            images.append(to_signed(model.decode(path)))  # [C, S, S]
        except DECODE_ERRORS as error:
            raise GankitError(f"cannot read {path} as an image ({error})") from None
    return torch.stack(images).numpy()


def _chunks(model, inputs: list[str | Path]):
    """(files, names, x [K, C, S, S]) per chunk of the images found under ``inputs``."""
    found = find_images(inputs)
    for start in range(0, len(found), CHUNK):
        chunk = found[start : start + CHUNK]
        yield [p for p, _ in chunk], [n for _, n in chunk], read_images([p for p, _ in chunk], model)


def score_folder(model, inputs: str | Path | list[str | Path], out: str | Path, *, maps: str | Path | None = None,
                 threshold: float | None = None) -> list[dict[str, Any]]:
    """Score every image under ``inputs`` and write ``out`` (CSV, the columns of ``gankit score``; the
    label is empty: a folder says nothing about it). ``threshold`` (normalised) replaces the file's own."""
    from gankit.report.overlay import save_overlays

    if threshold is not None and not 0 < threshold < 1:
        raise GankitError(f"the threshold is in normalised units and must be in (0, 1), got {threshold}")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rows: list[dict[str, Any]] = []
    images, recons, heat, names = [], [], [], []
    for _, chunk_names, x in _chunks(model, inputs):
        result = model.score(x)
        decisions = result["decision"] if threshold is None else result["score"] >= threshold
        for i, name in enumerate(chunk_names):
            rows.append({
                "index": len(rows), "name": name.with_suffix("").as_posix(),
                "kind": name.parent.as_posix() if name.parent != Path(".") else "", "label": "",
                "score": float(result["raw_score"][i]), "normalized": round(float(result["score"][i]), 6),
                "decision": int(decisions[i]),
            })
        if maps is not None:
            images.append(x), recons.append(result["reconstruction"]), heat.append(result["map"])
            names += [name.with_suffix("").as_posix() for name in chunk_names]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    if maps is not None:
        heat_maps = torch.from_numpy(np.concatenate(heat))  # [N, 1, H, W]
        vmax = heat_maps.quantile(0.999).item() if heat_maps.numel() < 2**24 else heat_maps.max().item()
        save_overlays(torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(recons)),
                      heat_maps, names, Path(maps), vmax)
    return rows


def translate_folder(model, inputs: list[str | Path], out: str | Path) -> list[Path]:
    """One PNG per input image in ``out`` (folder layouts kept), translated in the file's direction."""
    written = []
    for _, names, x in _chunks(model, inputs):
        for name, image in zip(names, model.translate(x)):
            target = Path(out) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(to_unit(image[None]), target)
            written.append(target)
    return written


def sample_files(model, out: str | Path, *, n: int = 64, seed: int = 0, psi: float = 1.0) -> Path:
    """A grid of ``n`` samples as one PNG."""
    images = model.sample(n, seed, psi)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(to_unit(images), out, nrow=int(np.ceil(np.sqrt(n))), padding=1, pad_value=1.0)
    return out


def to_unit(images: np.ndarray) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> a tensor in [0, 1] for PNG writing."""
    return torch.from_numpy((np.asarray(images) + 1) / 2).clamp(0, 1)
