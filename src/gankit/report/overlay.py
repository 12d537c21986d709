"""Image | reconstruction | heat-map panels, without matplotlib: the colour map is a parameter,
so ``report.anomaly`` draws with matplotlib's ``inferno`` and ``gankit.deploy`` (which must not
import matplotlib) with :func:`inferno_ramp`, a close piecewise-linear version of it.

    panels = triplets(x, reconstructions, maps, vmax=maps.max().item())   # [N, 3, 3, H, W] RGB in [0, 1]
    save_overlays(x, reconstructions, maps, names, Path("maps/"), vmax)   # one PNG per image
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision.utils import save_image

OVERLAY_ALPHA = 0.55
# inferno at 17 evenly spaced levels (matplotlib's values, rounded): interpolated linearly, within
# 7 of 255 levels of the full 256-entry table everywhere.
INFERNO_STOPS = np.array([
    [0.001, 0.0, 0.014], [0.042, 0.028, 0.141], [0.129, 0.047, 0.291], [0.238, 0.037, 0.396],
    [0.342, 0.062, 0.429], [0.441, 0.099, 0.432], [0.541, 0.135, 0.415], [0.64, 0.171, 0.381],
    [0.736, 0.216, 0.33], [0.822, 0.275, 0.266], [0.894, 0.353, 0.194], [0.947, 0.449, 0.115],
    [0.978, 0.558, 0.035], [0.988, 0.675, 0.065], [0.975, 0.798, 0.206], [0.948, 0.917, 0.411],
    [0.988, 0.998, 0.645],
])

Colours = Callable[[np.ndarray], np.ndarray]  # levels [...] in [0, 1] -> RGB [..., 3] in [0, 1]


def inferno_ramp(level: np.ndarray) -> np.ndarray:
    positions = np.linspace(0.0, 1.0, len(INFERNO_STOPS))
    return np.stack([np.interp(level, positions, INFERNO_STOPS[:, c]) for c in range(3)], -1)


def heat_overlay(x: Tensor, maps: Tensor, vmax: float, colours: Colours = inferno_ramp) -> Tensor:
    """RGB [N, 3, H, W] in [0, 1]: the coloured map blended over the grey image."""
    grey = ((x.float().mean(1, keepdim=True) + 1) / 2).clamp(0, 1).repeat(1, 3, 1, 1)  # [N, 3, H, W]
    level = (maps.float()[:, 0] / max(vmax, 1e-12)).clamp(0, 1)  # [N, H, W]
    colour = torch.from_numpy(np.ascontiguousarray(colours(level.cpu().numpy()))).permute(0, 3, 1, 2).float()
    return (1 - OVERLAY_ALPHA) * grey + OVERLAY_ALPHA * colour


def triplets(x: Tensor, reconstructions: Tensor | None, maps: Tensor, vmax: float,
             colours: Colours = inferno_ramp) -> Tensor:
    """[N, 3, 3, H, W]: image, reconstruction (the image when there is none), overlay; RGB in [0, 1]."""
    as_rgb = lambda images: ((images.float() + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)  # noqa: E731
    recon = as_rgb(reconstructions if reconstructions is not None else x)
    return torch.stack([as_rgb(x), recon, heat_overlay(x, maps, vmax, colours)], 1)


def save_overlays(
    x: Tensor, reconstructions: Tensor | None, maps: Tensor, names: list[str], folder: Path, vmax: float,
    colours: Colours = inferno_ramp,
) -> list[Path]:
    """One PNG per image (image | reconstruction | map) named after the image."""
    folder.mkdir(parents=True, exist_ok=True)
    panels = triplets(x.cpu(), None if reconstructions is None else reconstructions.cpu(), maps.cpu(), vmax, colours)
    paths = []
    for i, (name, panel) in enumerate(zip(names, panels)):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem if "/" in name else name)[-80:]
        path = folder / f"{i:05d}-{stem}.png"
        save_image(panel, path, nrow=3, padding=1, pad_value=1.0)
        paths.append(path)
    return paths
