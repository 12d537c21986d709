"""Heat-map overlays for anomaly detection with matplotlib's ``inferno`` colour map: the ranked
grids of ``gankit score`` (the panels themselves are drawn by ``report.overlay``). One colour scale
(``vmax``) is shared by every image of a set, so a brighter map always means a higher per-pixel anomaly.

    save_overlays(x, out.reconstructions, out.maps, names, Path("maps/"), vmax, inferno)   # report.overlay
    save_ranked(x, out.reconstructions, out.maps, out.scores, Path("most.png"), k=8, most=True)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from torch import Tensor  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from gankit.report.overlay import triplets  # noqa: E402


def inferno(level: np.ndarray) -> np.ndarray:
    return colormaps["inferno"](level)[..., :3]


def save_ranked(
    x: Tensor, reconstructions: Tensor | None, maps: Tensor, scores: Tensor, path: Path, k: int, most: bool, vmax: float
) -> Path:
    """A grid of the k most (or least) anomalous images, one triplet per row."""
    order = scores.argsort(descending=most)[:k]
    recon = None if reconstructions is None else reconstructions[order]
    panels = triplets(x[order].cpu(), None if recon is None else recon.cpu(), maps[order].cpu(), vmax, inferno)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(panels.flatten(0, 1), path, nrow=3, padding=1, pad_value=1.0)
    return path
