"""Semantic inpainting by latent search: "Semantic Image Inpainting with Deep Generative Models"
(Yeh et al. 2017). The shared latent search finds the z (or StyleGAN w / w+) whose image best
agrees with the known pixels (contextual loss, each known pixel weighted by the share of hole
pixels in its 7x7 window, so that the hole's surroundings count most) while looking real to the
run's discriminator (lambda times the prior loss); the generated content is then blended into the
hole (Poisson blending by default, or alpha), and the known pixels are left bit-identical.

    hole = generated_masks("center:0.4", n=x.shape[0], size=32)     # True = missing
    result = inpaint(gankit.load("runs/mnist"), x, hole)             # x [N, C, H, W] in [-1, 1]
    result.filled, result.raw                                        # blended, the generator's own image
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.images import model_images
from gankit.errors import GankitError
from gankit.latent.blend import alpha_blend, poisson_blend
from gankit.latent.masks import check_masks
from gankit.latent.search import SearchOptions, frozen, latent_search, projector_options, restart_generator
from gankit.latent.space import latent_space

Context = Literal["weighted", "uniform"]
Blend = Literal["poisson", "alpha"]


@dataclass
class InpaintResult:
    filled: Tensor  # [N, C, H, W]: known pixels of x exactly, the blended fill in the hole
    raw: Tensor  # [N, C, H, W]: the generator's whole image, in [-1, 1]
    latent: Tensor
    loss: Tensor  # [N] the final objective


def context_weights(hole: Tensor, context: Context = "weighted", window: int = 7) -> Tensor:
    """[N, 1, H, W]: 0 in the hole; on known pixels the share of hole pixels within a ``window``
    square around them (Yeh et al.'s weighted mask), or 1 everywhere known ("uniform")."""
    known = (~hole).float()
    if context == "uniform":
        return known
    if context != "weighted":
        raise GankitError(f"the contextual loss is weighted or uniform, got {context!r}")
    kernel = torch.ones(1, 1, window, window, device=hole.device) / window**2
    return known * F.conv2d(hole.float(), kernel, padding=window // 2)


def _check_hole(hole: Tensor, x: Tensor) -> Tensor:
    if not isinstance(hole, Tensor) or hole.dtype != torch.bool:
        raise GankitError("the mask must be a bool tensor [N, 1, H, W], True where pixels are missing")
    if hole.dim() == 3:
        hole = hole[None].expand(x.shape[0], -1, -1, -1)
    if hole.dim() != 4 or hole.shape[1] != 1 or hole.shape[0] != x.shape[0] or hole.shape[2:] != x.shape[2:]:
        raise GankitError(f"the mask must be [N, 1, H, W] like the images {list(x.shape)}, got {list(hole.shape)}")
    check_masks(hole, [f"image {i}" for i in range(hole.shape[0])])
    return hole


def inpaint(
    model,
    x: Tensor,
    hole: Tensor,
    *,
    space: str = "z",
    prior_weight: float = 0.003,
    context: Context = "weighted",
    window: int = 7,
    blend: Blend = "poisson",
    options: SearchOptions | None = None,
) -> InpaintResult:
    """Fill ``hole`` (bool [N, 1, H, W], True = missing) in images ``x`` [N, C, H, W] (batched)."""
    if blend not in ("poisson", "alpha"):
        raise GankitError(f"blending is poisson or alpha, got {blend!r}")
    if prior_weight < 0:
        raise GankitError(f"the prior weight must be >= 0, got {prior_weight}")
    if window < 1 or window % 2 == 0:
        raise GankitError(f"the context window must be an odd number of pixels, got {window}")
    searched = latent_space(model, space)
    x = model_images(x, model.data_shape[0], model.data_shape[-1], "inpaint")
    hole = _check_hole(hole, x)
    options = options or projector_options()
    device = model.device
    known_x, device_hole = x.to(device), hole.to(device)
    weights = context_weights(device_hole, context, window)  # [N, 1, H, W]
    with frozen(model):

        def objective(latent: Tensor, noise: list[Tensor]) -> tuple[Tensor, Tensor]:
            x_hat = searched.generate(latent, noise)
            contextual = (weights * (x_hat - known_x)).abs().flatten(1).sum(1)  # [N]
            if not prior_weight:
                return contextual, x_hat
            return contextual + prior_weight * searched.unrealness(x_hat, latent), x_hat

        def start(restart: int):
            return searched.start(x.shape[0], restart_generator(options.seed, restart), restart)

        result = latent_search(objective, start, options)
    raw = result.images.clamp(-1, 1).cpu()
    blended = (poisson_blend if blend == "poisson" else alpha_blend)(x, raw, hole).clamp(-1, 1)
    return InpaintResult(torch.where(hole, blended, x), raw, result.latent, result.loss)


def file_masks(spec: str, images, size: int, seed: int) -> Tensor:
    """bool [N, 1, S, S] for ``images`` (``read_images``) from a generated spec, a mask for all, or a
    folder of masks named like the images."""
    from gankit.data.images import read_header
    from gankit.latent.masks import find_mask, generated_masks, read_mask

    path = Path(spec)
    if not path.exists():  # a generated mask, or an error that names the valid specs
        return generated_masks(spec, len(images), size, seed)
    masks = []
    for image in images:
        header = read_header(image.path)
        mask_path = find_mask(path, image.name) if path.is_dir() else path
        masks.append(read_mask(mask_path, size, (header.width, header.height)))
    return torch.stack(masks)


def _shown_with_hole(x: Tensor, hole: Tensor) -> Tensor:
    """The input with its hole in mid grey, as the grid shows it."""
    return torch.where(hole, torch.zeros_like(x), x)


def inpaint_files(
    model,
    inputs: list[str | Path],
    mask: str,
    out: str | Path,
    *,
    batch_size: int = 64,
    original: bool = True,
    **settings,
) -> list[dict]:
    """Inpaint every image among ``inputs`` and write, per image, ``NAME-filled.png``, ``NAME-raw.png``
    and ``NAME-grid.png`` (input with hole | fill | original), and ``inpaint.csv``; returns its rows.
    ``settings`` are :func:`inpaint`'s keywords."""
    from gankit.latent.files import batch, output_paths, quantize, read_images, write_csv, write_png
    from gankit.report.plots import save_image_grid

    if batch_size <= 0:
        raise GankitError(f"the batch size must be > 0, got {batch_size}")
    out = Path(out)
    latent_space(model, settings.get("space", "z"))  # a model that cannot be searched fails before any image is read
    images = read_images(inputs, model)
    options = settings.get("options") or projector_options()
    holes = file_masks(mask, images, model.data_shape[-1], options.seed)
    check_masks(holes, [str(image.path) for image in images])
    paths = output_paths(out, images, ["-filled.png", "-raw.png", "-grid.png"])
    rows = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        x, hole = batch(chunk), holes[start : start + len(chunk)]
        result = inpaint(model, x, hole, **settings)
        for i, image in enumerate(chunk):
            filled_path, raw_path, grid_path = paths[start + i]
            # The known pixels are the decoded input's own bytes, not a round trip through floats.
            write_png(filled_path, torch.where(hole[i], quantize(result.filled[i]), image.pixels))
            write_png(raw_path, quantize(result.raw[i]))
            columns = [_shown_with_hole(x[i], hole[i]), result.filled[i]] + ([x[i]] if original else [])
            save_image_grid(torch.stack(columns), grid_path, nrow=len(columns))
            rows.append({"image": str(image.path), "filled": str(filled_path),
                         "hole_fraction": f"{hole[i].float().mean().item():.4f}", "loss": f"{result.loss[i].item():.6g}"})
    write_csv(out / "inpaint.csv", rows)
    return rows
