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


def plot_score_histograms(groups: dict[str, list[float]], threshold: float | None, path: Path, title: str) -> Path:
    """Overlaid histograms of raw scores (one per group, shared bins), the threshold as a line."""
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.concatenate([np.asarray(v, dtype=float) for v in groups.values()])
    bins = np.histogram_bin_edges(values, bins=min(40, max(5, values.size // 4)))
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for (name, scores), colour in zip(groups.items(), ("tab:blue", "tab:red", "tab:green")):
        ax.hist(scores, bins=bins, alpha=0.55, color=colour, label=f"{name} ({len(scores)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=1.2, label="threshold")
    ax.set_xlabel("raw anomaly score")
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


def plot_roc_pr(scores: list[float], labels: list[int], path: Path) -> Path:
    """ROC and precision-recall curves side by side, each with its trivial baseline dashed."""
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    roc.plot(fpr, tpr, lw=1.5)
    roc.plot([0, 1], [0, 1], color="tab:gray", ls="--", lw=1, label="random")
    roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC")
    pr.plot(recall, precision, lw=1.5)
    pr.axhline(float(np.mean(labels)), color="tab:gray", ls="--", lw=1, label="share of anomalies")
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    for ax in (roc, pr):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save_figure(fig, path)


def _save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
