"""Sample grids (torchvision), loss curves and 2-D scatter plots (matplotlib).

    save_samples(model.sample(64), run_dir / "samples.png")
    plot_losses(read_metrics(run_dir), run_dir / "losses.png")
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from torchvision.transforms.functional import to_pil_image  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from gankit.files import atomic_write  # noqa: E402

DATA_FACTS = ("num_modes",)  # evaluation values that describe the data, not the samples: never a curve
GRID_PADDING = 2  # pixels between the cells of a grid
LABEL_GAP = 4  # pixels around a label


def save_image_grid(images: Tensor, path: Path, nrow: int | None = None, min_size: int = 64,
                    rows: list[str] | None = None, cols: list[str] | None = None) -> Path:
    """Tile images [N, C, H, W] in [-1, 1] into one PNG; images smaller than ``min_size``
    are enlarged by an integer factor (nearest neighbour, so pixels stay visible). ``rows`` and
    ``cols`` label the rows (on the left) and columns (on top) on the image itself."""
    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    images = images.detach().float().cpu()
    scale = max(1, min_size // images.shape[-1])
    if scale > 1:
        images = F.interpolate(images, scale_factor=scale, mode="nearest")
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(images, nrow=nrow, padding=GRID_PADDING, normalize=True, value_range=(-1, 1), pad_value=1.0)
    picture = to_pil_image(grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8))  # rounded as save_image does
    if rows or cols:
        picture = _with_labels(picture, images.shape[-2:], rows or [], cols or [])
    return atomic_write(path, lambda f: picture.save(f, format="png"))


def _with_labels(grid: Image.Image, cell: tuple[int, int], rows: list[str], cols: list[str]) -> Image.Image:
    """``grid`` on a white canvas with ``rows`` written left of each row and ``cols`` above each column."""
    font = ImageFont.load_default()
    measure = ImageDraw.Draw(grid)
    def size(text: str) -> tuple[int, int]:
        left, top, right, bottom = measure.textbbox((0, 0), text, font=font)
        return right - left, bottom - top
    line_height = max((size(t)[1] for t in rows + cols), default=0)
    left = max((size(t)[0] for t in rows), default=-LABEL_GAP) + 2 * LABEL_GAP if rows else 0
    top = line_height + 2 * LABEL_GAP if cols else 0
    canvas = Image.new(grid.mode, (grid.width + left, grid.height + top), "white")
    canvas.paste(grid, (left, top))
    draw = ImageDraw.Draw(canvas)
    height, width = cell
    step_x, step_y = width + GRID_PADDING, height + GRID_PADDING
    for index, text in enumerate(cols):
        x = left + GRID_PADDING + index * step_x + (width - size(text)[0]) // 2
        draw.text((max(x, left), LABEL_GAP), text, fill="black", font=font)
    for index, text in enumerate(rows):
        y = top + GRID_PADDING + index * step_y + (height - line_height) // 2
        draw.text((LABEL_GAP, y), text, fill="black", font=font)
    return canvas


def plot_points(samples: Tensor, path: Path, modes: Tensor | None = None, title: str = "") -> Path:
    """Scatter 2-D samples [N, 2] over the true mode centres [M, 2]."""
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    points = samples.detach().float().cpu()
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, label="samples", color="tab:blue")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=60, marker="x", color="tab:red", label="true modes")
        span = modes.abs().max().item() * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    return _save_figure(fig, path, bbox_inches="tight")


def save_samples(samples: Tensor, path: Path, modes: Tensor | None = None, title: str = "", **grid: Any) -> Path:
    """A grid for images (``grid``: ``save_image_grid``'s nrow, rows, cols), a scatter plot for points."""
    if samples.dim() == 4:
        return save_image_grid(samples, path, **grid)
    return plot_points(samples, path, modes, title)


# A GAN discriminator's mean probabilities (d_real = D(x), d_fake = D(G(z))) beyond these bounds
# mean D has won: the generator's gradients vanish and training has collapsed. The loss plot
# draws them so that a run's last steps can be checked at a glance.
SATURATION = {"d_real": 0.95, "d_fake": 0.05}


def plot_losses(rows: list[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """One panel per logged training scalar against step; None when nothing was logged."""
    return _plot_scalars([r for r in rows if r.get("kind") == "train"], path, title, marker=None, bounds=SATURATION)


def plot_metric_curves(rows: list[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """One panel per evaluated metric with two or more evaluations, its real-vs-real floor dashed;
    None when there is none. A single evaluation, and what describes the data rather than the samples
    (``num_modes``), are rows of the final metrics table, not curves."""
    evals = [r for r in rows if r.get("kind") == "eval"]
    counts: dict[str, int] = {}
    for row in evals:
        for key, value in row.items():
            if isinstance(value, (int, float)):
                counts[key] = counts.get(key, 0) + 1
    dropped = {key for key, count in counts.items() if count < 2} | set(DATA_FACTS)
    return _plot_scalars([{k: v for k, v in r.items() if k not in dropped} for r in evals], path, title, marker="o")


def _plot_scalars(rows: list[dict[str, Any]], path: Path, title: str, marker: str | None,
                  bounds: dict[str, float] | None = None) -> Path | None:
    keys = [k for k in dict.fromkeys(k for r in rows for k in r)
            if k not in ("step", "kind") and not k.endswith("_floor")
            and any(isinstance(r.get(k), (int, float)) for r in rows)]
    if not keys:
        return None
    cols = min(3, len(keys))
    nrows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.5 * cols, 3 * nrows), dpi=100, squeeze=False)
    for ax, key in zip(axes.flat, sorted(keys) if marker is None else keys):
        points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        steps, values = zip(*points)
        ax.plot(steps, values, marker=marker, ms=3, lw=1, label="samples")
        floors = [r[f"{key}_floor"] for r in rows if isinstance(r.get(f"{key}_floor"), (int, float))]
        if floors:
            ax.axhline(floors[-1], color="tab:gray", ls="--", lw=1, label="real vs real")
            ax.legend(fontsize=7)
        if bounds and key in bounds:
            ax.axhline(bounds[key], color="tab:red", ls=":", lw=1, label="saturated beyond")
            ax.set_ylim(0, 1)
            ax.legend(fontsize=7)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save_figure(fig, path)


def _save_figure(fig: Any, path: Path, **options: Any) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, lambda f: fig.savefig(f, format="png", **options))
    finally:
        plt.close(fig)
