"""Figures of a style-based generator, after "A Style-Based Generator Architecture for Generative
Adversarial Networks" (Karras et al. 2019): the style-mixing grid (Fig. 3), the stochastic-variation
figure with its per-pixel standard deviation (Fig. 4) and latent interpolations in Z or W.

Each function returns ``(images [K, C, H, W] in [-1, 1], nrow)`` for ``save_image_grid``; every image
is fixed by integer seeds, so a figure can be redrawn exactly.

    images, nrow = style_mixing_grid(gankit.load("runs/fashion"), rows=[1, 2], cols=[3, 4, 5], layers="coarse")
    save_image_grid(images, Path("mix.png"), nrow=nrow)
    save_gif(interpolation_frames(model, [0, 1, 2], space="w", steps=16), Path("walk.gif"))
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from gankit.capabilities import StyleSynthesizer
from gankit.errors import GankitError

# The paper's bands (Sec. 3.1): coarse 4-8 px, middle 16-32 px, fine 64 px and up.
BANDS = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, 1 << 30)}


def require_style_model(model) -> None:
    if not isinstance(model, StyleSynthesizer):
        raise GankitError(f"this figure needs a style-based generator (stylegan); the run holds a {model.name} model")


def latents(model, seeds: list[int]) -> Tensor:
    """One standard-normal z per seed, [len(seeds), latent_dim], the same on every device."""
    dim = model.config.latent_dim
    return torch.cat([torch.randn(1, dim, generator=torch.Generator().manual_seed(s)) for s in seeds])


def parse_layers(spec: str, model) -> range:
    """Synthesis layers named by a band (coarse, middle, fine) or an inclusive index range 'a-b' / 'a'."""
    resolutions = model.generator_ema.synthesis.resolutions  # one entry per layer
    count = len(resolutions)
    if spec in BANDS:
        low, high = BANDS[spec]
        chosen = [i for i, r in enumerate(resolutions) if low <= r <= high]
        if not chosen:
            bands = ", ".join(f"{b} (layers {_band_range(b, resolutions)})" for b in BANDS if _band_range(b, resolutions))
            raise GankitError(
                f"a {resolutions[-1]} px model has no {spec} layers ({low} px and up); use {bands} or a range a-b of 0-{count - 1}"
            )
        return range(chosen[0], chosen[-1] + 1)
    try:
        first, _, last = spec.partition("-")
        start, stop = int(first), int(last or first)
    except ValueError:
        raise GankitError(f"--layers must be coarse, middle, fine or a range a-b, got {spec!r}") from None
    if not 0 <= start <= stop < count:
        raise GankitError(f"--layers {spec}: this model has layers 0-{count - 1}")
    return range(start, stop + 1)


def _band_range(band: str, resolutions: list[int]) -> str:
    low, high = BANDS[band]
    chosen = [i for i, r in enumerate(resolutions) if low <= r <= high]
    return f"{chosen[0]}-{chosen[-1]}" if chosen else ""


@torch.no_grad()
def style_mixing_grid(
    model, rows: list[int], cols: list[int], layers: str | range, truncation: float = 1.0, noise_seed: int = 0
) -> tuple[Tensor, int]:
    """The paper's Fig. 3: the top row holds the destination images (``cols`` seeds), the left column the
    sources (``rows`` seeds); each cell is its column's image with ``layers`` styled by its row's w."""
    require_style_model(model)
    band = parse_layers(layers, model) if isinstance(layers, str) else layers
    source = model.styles(latents(model, rows), truncation)  # [R, L, w_dim]
    destination = model.styles(latents(model, cols), truncation)  # [K, L, w_dim]
    mixed = destination[None].repeat(len(rows), 1, 1, 1)  # [R, K, L, w_dim]
    mixed[:, :, band.start:band.stop] = source[:, None, band.start:band.stop]
    ws = torch.cat([destination, source, mixed.flatten(0, 1)])
    # One noise draw for every cell, so that only the styles differ between cells.
    noise = model.make_noise(ws.shape[0], torch.Generator().manual_seed(noise_seed), shared=True)
    images = model.synthesize(ws, noise).cpu()
    top, left, cells = images.split([len(cols), len(rows), len(rows) * len(cols)])
    blank = torch.ones_like(images[:1])  # white in [-1, 1]
    grid = [blank, top]
    for r in range(len(rows)):
        grid += [left[r:r + 1], cells[r * len(cols):(r + 1) * len(cols)]]
    return torch.cat(grid), len(cols) + 1


@torch.no_grad()
def noise_figure(
    model, seeds: list[int], draws: int = 64, show: int = 5, truncation: float = 1.0, noise_seed: int = 0
) -> tuple[Tensor, int]:
    """The paper's Fig. 4, one row per seed: the same w under ``show`` noise draws, then the image with
    all noise at zero, then the per-pixel standard deviation over ``draws`` draws (white = the largest
    standard deviation in the figure, black = none)."""
    require_style_model(model)
    if draws < 2 or not 1 <= show <= draws:
        raise GankitError(f"need draws >= 2 and 1 <= show <= draws, got draws={draws}, show={show}")
    generator = torch.Generator().manual_seed(noise_seed)
    rows, stds = [], []
    for ws in model.styles(latents(model, seeds), truncation):  # [L, w_dim] per seed
        ws = ws[None].repeat(draws, 1, 1)
        images = model.synthesize(ws, generator=generator).cpu()  # [draws, C, H, W]
        quiet = model.synthesize(ws[:1], [torch.zeros_like(m) for m in model.make_noise(1)]).cpu()
        stds.append(images.std(dim=0).mean(dim=0, keepdim=True))  # [1, H, W]
        rows.append(torch.cat([images[:show], quiet]))
    scale = max(float(s.max()) for s in stds) or 1.0
    channels = rows[0].shape[1]
    grid = [torch.cat([row, (s / scale * 2 - 1).expand(channels, -1, -1)[None]]) for row, s in zip(rows, stds)]
    return torch.cat(grid), show + 2


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation of rows of a and b at fractions t [T] -> [T, D]: Z is Gaussian, so
    its samples live near a sphere and a straight line would pass through unlikely latents."""
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.acos((a_unit * b_unit).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    t = t[:, None]
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def interpolate(model, start: int, end: int, space: str, steps: int, truncation: float = 1.0) -> Tensor:
    """Styles [steps, L, w_dim] from seed ``start`` to seed ``end``: slerp in Z or lerp in W."""
    if space not in ("z", "w"):
        raise GankitError(f"--space must be z or w, got {space!r}")
    if steps < 2:
        raise GankitError(f"--steps must be >= 2, got {steps}")
    z = latents(model, [start, end])
    t = torch.linspace(0, 1, steps)
    if space == "z":
        return model.styles(slerp(z[0], z[1], t), truncation).cpu()
    ws = model.styles(z, truncation).cpu()  # [2, L, w_dim]
    return torch.lerp(ws[:1], ws[1:], t[:, None, None])


@torch.no_grad()
def interpolation_grid(
    model, seeds: list[int], space: str = "w", steps: int = 8, truncation: float = 1.0, noise_seed: int = 0
) -> tuple[Tensor, int]:
    """One row per consecutive pair of seeds, ``steps`` images each, with the noise held fixed."""
    require_style_model(model)
    if len(seeds) < 2:
        raise GankitError("interpolation needs at least two seeds")
    ws = torch.cat([interpolate(model, a, b, space, steps, truncation) for a, b in zip(seeds[:-1], seeds[1:])])
    noise = model.make_noise(ws.shape[0], torch.Generator().manual_seed(noise_seed), shared=True)
    return model.synthesize(ws, noise).cpu(), steps


@torch.no_grad()
def interpolation_frames(
    model, seeds: list[int], space: str = "w", steps: int = 16, truncation: float = 1.0, noise_seed: int = 0
) -> Tensor:
    """Frames [F, C, H, W] of a closed walk through the seeds (back to the first), for ``save_gif``."""
    require_style_model(model)
    if len(seeds) < 2:
        raise GankitError("interpolation needs at least two seeds")
    path = seeds + seeds[:1]
    # Drop each segment's last frame: it is the next segment's first.
    ws = torch.cat([interpolate(model, a, b, space, steps + 1, truncation)[:-1] for a, b in zip(path[:-1], path[1:])])
    noise = model.make_noise(ws.shape[0], torch.Generator().manual_seed(noise_seed), shared=True)
    return model.synthesize(ws, noise).cpu()


def save_gif(frames: Tensor, path: Path, scale: int = 4, frame_ms: int = 80) -> Path:
    """Write frames [F, C, H, W] in [-1, 1] as a looping GIF, enlarged ``scale`` times (nearest)."""
    pixels = ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    images = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]  # grey or RGB
    size = (images[0].width * scale, images[0].height * scale)
    images = [image.resize(size, Image.NEAREST) for image in images]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return path
