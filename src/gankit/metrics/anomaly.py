"""Anomaly-detection metrics: image AUROC, AUPRC and best F1 (scikit-learn), pixel
AUROC, and AUPRO, the per-region overlap curve of "MVTec AD: A Comprehensive
Real-World Dataset for Unsupervised Anomaly Detection" (Bergmann et al. 2019).

AUPRO is written here because no kept library has it: every defect region (an
8-connected component of a mask, scipy.ndimage.label) counts equally however
large it is, so a method that finds the small defects scores higher than
pixel AUROC would say. The curve is exact: pixels are sorted once and every
distinct score is a threshold.

    image = image_metrics(scores, is_anomaly)     # {"auroc": ..., "auprc": ..., "best_f1": ..., "auprc_baseline": ...}
    pixel = pixel_metrics(maps, masks)            # {"pixel_auroc": ..., "aupro": ...}
    aupro(maps, masks, fpr_limit=0.3)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from torch import Tensor

from gankit.errors import GankitError

FPR_LIMIT = 0.3  # MVTec AD integrates the PRO curve up to 30% false-positive rate
BASELINE_SUFFIX = "_baseline"  # a metric's trivial baseline, reported beside it


def _numpy(values: Tensor | np.ndarray) -> np.ndarray:
    return values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)


def image_metrics(scores: Tensor | np.ndarray, is_anomaly: Tensor | np.ndarray) -> dict[str, float]:
    """AUROC, AUPRC (average precision) and the F1 at the best threshold, in raw score units, with
    the trivial baselines beside them: AUPRC of a random ranking (the share of anomalous images)
    and the F1 of calling every image anomalous."""
    scores, labels = _numpy(scores).astype(np.float64), _numpy(is_anomaly).astype(bool)
    if labels.all() or not labels.any():
        raise GankitError("image metrics need both normal and anomalous images")
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))  # the last point (recall 0) has no threshold
    return {
        "auroc": float(roc_auc_score(labels, scores)),
        "auprc": float(average_precision_score(labels, scores)),
        "best_f1": float(f1[best]),
        "best_f1_threshold": float(thresholds[best]),
        "auprc" + BASELINE_SUFFIX: float(labels.mean()),
        "best_f1" + BASELINE_SUFFIX: float(2 * labels.mean() / (1 + labels.mean())),
    }


def pixel_metrics(maps: Tensor | np.ndarray, masks: Tensor | np.ndarray) -> dict[str, float]:
    """Pixel AUROC and AUPRO of maps [N, 1, H, W] against bool masks of the same shape."""
    maps, masks = _numpy(maps).astype(np.float64), _numpy(masks).astype(bool)
    if maps.shape != masks.shape:
        raise GankitError(f"maps {maps.shape} and masks {masks.shape} differ in shape")
    if masks.all() or not masks.any():
        raise GankitError("pixel metrics need both defect and defect-free pixels")
    return {"pixel_auroc": float(roc_auc_score(masks.ravel(), maps.ravel())), "aupro": aupro(maps, masks)}


def pro_curve(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, pro) at every distinct score, from (0, 0) to (1, 1).

    fpr = share of defect-free pixels at or above the threshold; pro = mean over
    defect regions of the share of the region's pixels at or above it.
    """
    maps, masks = np.asarray(maps, dtype=np.float64), np.asarray(masks, dtype=bool)
    regions = np.zeros(masks.shape, dtype=np.int64)  # 0: background, k: k-th region over all images
    count = 0
    eight = np.ones((3, 3), dtype=int)
    for index in np.ndindex(masks.shape[:-2]):
        labelled, found = ndimage.label(masks[index], structure=eight)
        regions[index] = np.where(labelled > 0, labelled + count, 0)
        count += found
    if count == 0 or masks.all():
        raise GankitError("the PRO curve needs at least one defect region and one defect-free pixel")
    flat_regions, flat_scores = regions.ravel(), maps.ravel()
    sizes = np.bincount(flat_regions, minlength=count + 1)
    # Each region pixel's contribution to PRO once the threshold reaches it.
    pro_weight = np.where(flat_regions > 0, 1.0 / (count * sizes[flat_regions].clip(min=1)), 0.0)
    order = np.argsort(-flat_scores, kind="stable")
    sorted_scores = flat_scores[order]
    fpr = np.cumsum(flat_regions[order] == 0) / sizes[0]  # integer counts: ends at exactly 1
    pro = np.cumsum(pro_weight[order])
    # A threshold includes every pixel with an equal score: keep the last index of each tie group.
    last_of_group = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    return np.r_[0.0, fpr[last_of_group]], np.r_[0.0, pro[last_of_group]]


def aupro(maps: np.ndarray | Tensor, masks: np.ndarray | Tensor, fpr_limit: float = FPR_LIMIT) -> float:
    """Area under the PRO curve for fpr in [0, fpr_limit], divided by fpr_limit (1.0 is perfect)."""
    if not 0 < fpr_limit <= 1:
        raise GankitError(f"fpr_limit must be in (0, 1], got {fpr_limit}")
    fpr, pro = pro_curve(_numpy(maps), _numpy(masks))
    keep = fpr <= fpr_limit
    x, y = fpr[keep], pro[keep]
    if x[-1] < fpr_limit:  # close the curve at the limit by linear interpolation
        after = int(np.argmax(fpr > fpr_limit))
        y_limit = np.interp(fpr_limit, fpr[after - 1 : after + 1], pro[after - 1 : after + 1])
        x, y = np.r_[x, fpr_limit], np.r_[y, y_limit]
    return float(np.trapezoid(y, x) / fpr_limit)
