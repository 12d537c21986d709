import pytest
import torch

from gankit.metrics.classifier_scores import classifier_scores


def test_scores_by_hand():
    probs = torch.tensor([
        [0.95, 0.05, 0.0],   # confident 0
        [0.92, 0.08, 0.0],   # confident 0
        [0.2, 0.7, 0.1],     # unsure, predicted 1
        [0.0, 0.05, 0.95],   # confident 2
    ])
    labels = torch.tensor([0, 1, 2, 0, 1, 2])  # a third each
    values = classifier_scores(probs, labels, num_classes=3)
    # predicted shares 1/2, 1/4, 1/4 vs 1/3 each: TV = (1/6 + 1/12 + 1/12) / 2 = 1/6
    assert values["cls_confident"] == 0.75
    assert values["cls_tv"] == pytest.approx(1 / 6)
    assert values["cls_classes"] == 2


def test_collapse_to_one_class():
    probs = torch.zeros(10, 4)
    probs[:, 3] = 1.0
    values = classifier_scores(probs, torch.arange(4).repeat(5), num_classes=4)
    assert values == {"cls_confident": 1.0, "cls_tv": pytest.approx(0.75), "cls_classes": 1}
