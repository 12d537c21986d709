"""Projection (GAN inversion): the latent from which a trained generator best reproduces a real
image, found by the shared latent search, as StyleGAN2-ADA's projector does ("Analyzing and
Improving the Image Quality of StyleGAN", Karras et al. 2020) with losses that need nothing beyond
the run: pixel L1 or L2 plus matching of the discriminator's own features; and LPIPS, the
projector's distance, when the user supplies VGG16 weights (``perceptual.py``).

    result = project(gankit.load("runs/style"), x, space="w+")     # x [N, C, H, W] in [-1, 1]
    result.latent, result.images, result.loss                     # [N, L, w_dim], [N, C, H, W], [N]
    save_latent(Path("a.safetensors"), result, 0, model)          # for `gankit interpolate --latents`
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from gankit.data.images import model_images
from gankit.errors import GankitError
from gankit.latent.perceptual import lpips_distance
from gankit.latent.search import SearchOptions, frozen, latent_search, projector_options, restart_generator
from gankit.latent.space import latent_space, model_name

PixelLoss = Literal["l1", "l2"]


@dataclass
class ProjectionResult:
    space: str
    latent: Tensor  # [N, latent_dim] (z), [N, w_dim] (w) or [N, L, w_dim] (w+)
    images: Tensor  # [N, C, H, W] the reconstructions, in [-1, 1]
    loss: Tensor  # [N] the final objective
    pixel_error: Tensor  # [N] mean |x - reconstruction| in [-1, 1] units
    noise: list[Tensor] = field(default_factory=list)  # StyleGAN's noise maps, [N, 1, R, R] each


def pixel_distance(x_hat: Tensor, x: Tensor, kind: PixelLoss) -> Tensor:
    difference = (x_hat - x).flatten(1)
    return (difference.abs() if kind == "l1" else difference.square()).mean(1)  # [N]


def project(
    model,
    x: Tensor,
    *,
    space: str = "z",
    pixel: PixelLoss = "l2",
    feature_weight: float = 0.1,
    lpips: nn.Module | None = None,
    options: SearchOptions | None = None,
) -> ProjectionResult:
    """Latents of ``model``'s generator that reproduce images ``x`` [N, C, H, W] (one batched search).
    The loss per image is mean pixel L1 or L2 plus ``feature_weight`` times the mean absolute
    difference of the discriminator's features (the realness the run learned), plus LPIPS when a
    metric from ``perceptual.load_lpips`` is given."""
    if pixel not in ("l1", "l2"):
        raise GankitError(f"the pixel loss is l1 or l2, got {pixel!r}")
    if feature_weight < 0:
        raise GankitError(f"the feature weight must be >= 0, got {feature_weight}")
    searched = latent_space(model, space)
    x = model_images(x, model.data_shape[0], model.data_shape[-1], "project").to(model.device)
    if lpips is not None:
        lpips = lpips.to(model.device)
    options = options or projector_options()
    with frozen(model):
        features_x = searched.features(x) if feature_weight else None  # [N, F], fixed during the search

        def objective(latent: Tensor, noise: list[Tensor]) -> tuple[Tensor, Tensor]:
            x_hat = searched.generate(latent, noise)
            loss = pixel_distance(x_hat, x, pixel)
            if feature_weight:
                loss = loss + feature_weight * (searched.features(x_hat) - features_x).abs().mean(1)
            if lpips is not None:
                loss = loss + lpips_distance(lpips, x_hat, x)
            return loss, x_hat

        def start(restart: int):
            return searched.start(x.shape[0], restart_generator(options.seed, restart), restart)

        result = latent_search(objective, start, options)
    images = result.images.clamp(-1, 1)
    return ProjectionResult(space, result.latent, images, result.loss, pixel_distance(images, x, "l1"), result.noise)


# --- latent files -----------------------------------------------------------------------------
def save_latent(path: Path, result: ProjectionResult, index: int, model, source: str = "") -> Path:
    """One image's latent (and noise maps) as safetensors, with the space and run in its metadata."""
    tensors = {"latent": result.latent[index : index + 1].detach().cpu().contiguous()}
    tensors.update({f"noise.{k}": m[index : index + 1].detach().cpu().contiguous() for k, m in enumerate(result.noise)})
    metadata = {"space": result.space, "model": model_name(model), "loss": f"{result.loss[index].item():.6g}",
                "shape": json.dumps(list(model.data_shape)), "source": source}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


@dataclass
class LatentFile:
    path: Path
    space: str
    model: str
    latent: Tensor  # [1, ...]
    noise: list[Tensor]


def load_latent(path: str | Path) -> LatentFile:
    """A latent written by ``save_latent`` (``gankit project``), or a one-line error."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise GankitError(f"latent file not found: {path}")
    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for foreign files
        raise GankitError(f"{path} is not a safetensors latent file written by gankit project ({error})") from None
    if "latent" not in tensors or metadata.get("space") not in ("z", "w", "w+"):
        raise GankitError(f"{path} holds no projected latent (write one with gankit project)")
    noise = [tensors[f"noise.{k}"] for k in range(sum(key.startswith("noise.") for key in tensors))]
    return LatentFile(path, metadata["space"], metadata.get("model", "?"), tensors["latent"], noise)


@torch.no_grad()
def latent_walk(model, files: list[LatentFile], steps: int) -> Tensor:
    """Images [(len(files) - 1) * steps, C, H, W]: one row per consecutive pair of projected latents,
    slerp in z (a Gaussian's samples lie near a sphere), lerp in w and w+, noise maps lerped."""
    from gankit.report.style import slerp

    if len(files) < 2:
        raise GankitError("a walk between projected images needs at least two latent files")
    if steps < 2:
        raise GankitError(f"--steps must be >= 2, got {steps}")
    spaces = {f.space for f in files}
    if len(spaces) > 1:
        raise GankitError(f"the latent files come from different spaces ({', '.join(sorted(spaces))}); project them alike")
    searched = latent_space(model, files[0].space)
    latent, noise = searched.start(1, torch.Generator().manual_seed(0))  # the shapes this run takes
    for f in files:
        if f.latent.shape != latent.shape or [m.shape for m in f.noise] != [m.shape for m in noise]:
            raise GankitError(f"{f.path} was projected into a {f.model} generator whose latent does not fit this run")
    t = torch.linspace(0, 1, steps)
    rows = []
    with frozen(model):
        for a, b in zip(files[:-1], files[1:]):
            if searched.name == "z":
                latent = slerp(a.latent[0], b.latent[0], t)  # [T, latent_dim]
            else:
                latent = torch.lerp(a.latent, b.latent, t.view(-1, *[1] * (a.latent.dim() - 1)))
            noise = [torch.lerp(m, n, t.view(-1, 1, 1, 1)).to(model.device) for m, n in zip(a.noise, b.noise)]
            rows.append(searched.generate(latent.to(model.device), noise).clamp(-1, 1).cpu())
    return torch.cat(rows)


def project_files(
    model, inputs: list[str | Path], out: str | Path, *, space: str = "z", batch_size: int = 64, **settings
) -> list[dict]:
    """Project every image among ``inputs`` and write, per image, ``NAME.safetensors`` (the latent),
    ``NAME-projection.png`` and ``NAME-pair.png`` (input | projection), and ``projection.csv``;
    returns the CSV's rows. ``settings`` are :func:`project`'s keywords."""
    from gankit.latent.files import batch, output_paths, quantize, read_images, write_csv, write_png
    from gankit.report.plots import save_image_grid

    if batch_size <= 0:
        raise GankitError(f"the batch size must be > 0, got {batch_size}")
    out = Path(out)
    latent_space(model, space)  # a model that cannot be searched fails before any image is read
    images = read_images(inputs, model)
    paths = output_paths(out, images, [".safetensors", "-projection.png", "-pair.png"])
    rows = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        x = batch(chunk)  # [K, C, S, S]
        result = project(model, x, space=space, **settings)
        for i, image in enumerate(chunk):
            latent_path, projection_path, pair_path = paths[start + i]
            save_latent(latent_path, result, i, model, str(image.path))
            write_png(projection_path, quantize(result.images[i]))
            save_image_grid(torch.stack([x[i], result.images[i].cpu()]), pair_path, nrow=2)
            rows.append({"image": str(image.path), "latent": str(latent_path), "space": space,
                         "loss": f"{result.loss[i].item():.6g}", "pixel_l1": f"{result.pixel_error[i].item():.6g}"})
    write_csv(out / "projection.csv", rows)
    return rows
