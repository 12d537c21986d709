"""Anomaly metrics against values computed by hand."""

import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.anomaly import aupro, image_metrics, pixel_metrics, pro_curve


def test_image_metrics_by_hand():
    # Pairs (anomalous, normal) ordered correctly: (0.35, 0.1), (0.8, 0.1), (0.8, 0.4); wrong: (0.35, 0.4) -> 3/4.
    metrics = image_metrics([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert metrics["auroc"] == pytest.approx(0.75)
    # Ranked: 0.8 (hit, precision 1), 0.4 (miss), 0.35 (hit, precision 2/3): AP = (1 + 2/3) / 2.
    assert metrics["auprc"] == pytest.approx(5 / 6)
    # Best F1 at threshold 0.35: precision 2/3, recall 1 -> 0.8.
    assert metrics["best_f1"] == pytest.approx(0.8) and metrics["best_f1_threshold"] == pytest.approx(0.35)
    # Baselines: a random ranking's AUPRC is the share of anomalies (1/2); calling all four anomalous
    # has precision 1/2 and recall 1, F1 2/3.
    assert metrics["auprc_baseline"] == pytest.approx(0.5) and metrics["best_f1_baseline"] == pytest.approx(2 / 3)
    with pytest.raises(GankitError, match="both"):
        image_metrics([0.1, 0.2], [1, 1])


def hand_case():
    maps = np.zeros((1, 1, 4, 4))
    masks = np.zeros((1, 1, 4, 4), dtype=bool)
    masks[0, 0, 0, 0] = True  # region A, 1 pixel
    masks[0, 0, 3, 2:4] = True  # region B, 2 pixels
    maps[0, 0, 0, 0], maps[0, 0, 3, 2], maps[0, 0, 3, 3] = 0.9, 0.8, 0.1
    maps[0, 0, 1, 1] = 0.85  # one false positive among 13 normal pixels
    return maps, masks


def test_pro_curve_and_aupro_by_hand():
    maps, masks = hand_case()
    fpr, pro = pro_curve(maps, masks)
    # Thresholds 0.9: A found (pro 1/2); 0.85: a false positive (fpr 1/13); 0.8: half of B (pro 3/4);
    # 0.1: all of B (pro 1); 0: everything.
    assert np.allclose(fpr, [0, 0, 1 / 13, 1 / 13, 1 / 13, 1])
    assert np.allclose(pro, [0, 0.5, 0.5, 0.75, 1, 1])
    # Area up to fpr 0.3: 0.5 * (1/13) + 1 * (0.3 - 1/13), divided by 0.3.
    assert aupro(maps, masks) == pytest.approx((0.5 / 13 + (0.3 - 1 / 13)) / 0.3)
    assert aupro(maps, masks, fpr_limit=1.0) == pytest.approx(0.5 / 13 + 12 / 13)


def test_regions_count_equally_and_are_8_connected():
    masks = np.zeros((2, 1, 5, 5), dtype=bool)
    masks[0, 0, 0, 0] = masks[0, 0, 1, 1] = True  # diagonal neighbours: one region
    masks[1, 0, 2:5, 2:5] = True  # a big region in another image
    maps = masks.astype(float)
    maps[0, 0, 1, 1] = 0.0  # half of the small region missed
    fpr, pro = pro_curve(maps, masks)
    assert pro[1] == pytest.approx((0.5 + 1) / 2)  # at threshold 1: small region 1/2, big region 1


def test_pixel_metrics_perfect_and_reversed():
    maps, masks = hand_case()
    perfect = pixel_metrics(masks.astype(float), masks)
    assert perfect == {"pixel_auroc": 1.0, "aupro": 1.0}
    assert pixel_metrics(1 - masks.astype(float), masks)["pixel_auroc"] == 0.0
    with pytest.raises(GankitError, match="shape"):
        pixel_metrics(maps[:, :, :2], masks)
