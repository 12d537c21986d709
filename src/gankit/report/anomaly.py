"""Heat-map overlays for anomaly detection: image, reconstruction and anomaly map side by side.

The map is drawn with matplotlib's ``inferno`` colour map over the grey image;
one colour scale (``vmax``) is shared by every image of a set, so a brighter
map always means a higher per-pixel anomaly.

    save_overlays(x, out.reconstructions, out.maps, names, Path("maps/"), vmax=out.maps.max())
    save_ranked(x, out.reconstructions, out.maps, out.scores, Path("most.png"), k=8, most=True)
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from torch import Tensor  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

OVERLAY_ALPHA = 0.55


def heat_overlay(x: Tensor, maps: Tensor, vmax: float) -> Tensor:
    """RGB [N, 3, H, W] in [0, 1]: the coloured map blended over the image."""
    grey = ((x.float().mean(1, keepdim=True) + 1) / 2).clamp(0, 1).repeat(1, 3, 1, 1)  # [N, 3, H, W]
    level = (maps.float()[:, 0] / max(vmax, 1e-12)).clamp(0, 1)  # [N, H, W]
    colour = torch.from_numpy(colormaps["inferno"](level.cpu().numpy())[..., :3]).permute(0, 3, 1, 2).float()
    return (1 - OVERLAY_ALPHA) * grey + OVERLAY_ALPHA * colour


def triplets(x: Tensor, reconstructions: Tensor | None, maps: Tensor, vmax: float) -> Tensor:
    """[N, 3, 3, H, W]: image, reconstruction (the image when there is none), overlay; RGB in [0, 1]."""
    as_rgb = lambda images: ((images.float() + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)  # noqa: E731
    recon = as_rgb(reconstructions if reconstructions is not None else x)
    return torch.stack([as_rgb(x), recon, heat_overlay(x, maps, vmax)], 1)


def save_overlays(
    x: Tensor, reconstructions: Tensor | None, maps: Tensor, names: list[str], folder: Path, vmax: float
) -> list[Path]:
    """One PNG per image (image | reconstruction | map) named after the image."""
    folder.mkdir(parents=True, exist_ok=True)
    panels = triplets(x.cpu(), None if reconstructions is None else reconstructions.cpu(), maps.cpu(), vmax)
    paths = []
    for i, (name, panel) in enumerate(zip(names, panels)):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem if "/" in name else name)[-80:]
        path = folder / f"{i:05d}-{stem}.png"
        save_image(panel, path, nrow=3, padding=1, pad_value=1.0)
        paths.append(path)
    return paths


def save_ranked(
    x: Tensor, reconstructions: Tensor | None, maps: Tensor, scores: Tensor, path: Path, k: int, most: bool, vmax: float
) -> Path:
    """A grid of the k most (or least) anomalous images, one triplet per row."""
    order = scores.argsort(descending=most)[:k]
    recon = None if reconstructions is None else reconstructions[order]
    panels = triplets(x[order].cpu(), None if recon is None else recon.cpu(), maps[order].cpu(), vmax)
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
