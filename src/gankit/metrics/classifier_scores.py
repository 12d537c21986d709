"""Classifier metrics: does each sample look like one class, and are the classes
generated in the data's proportions?

``cls_confident`` is the share of samples whose top class probability is at
least 0.9; ``cls_tv`` the total variation distance (0 = identical, 1 =
disjoint) between the histogram of predicted classes and the data's class
histogram; ``cls_classes`` how many classes have at least one confident sample
(the image analogue of the toy mixtures' captured modes).

    values = classifier_scores(probs, labels, num_classes=10)
    # {"cls_confident": 0.93, "cls_tv": 0.04, "cls_classes": 10}
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.samples import SampleMetric, SampleSet, generates_images

CONFIDENT = 0.9


def classifier_scores(probs: Tensor, labels: Tensor, num_classes: int) -> dict[str, float]:
    """``probs`` [N, K] softmax outputs on the samples, ``labels`` [M] the data's classes."""
    confidence, predicted = probs.max(dim=1)  # [N]
    confident = confidence >= CONFIDENT
    predicted_share = torch.bincount(predicted.cpu(), minlength=num_classes).double() / predicted.numel()
    data_share = torch.bincount(labels.cpu(), minlength=num_classes).double() / labels.numel()
    return {
        "cls_confident": float(confident.double().mean()),
        "cls_tv": float(0.5 * (predicted_share - data_share).abs().sum()),
        "cls_classes": int(torch.unique(predicted[confident]).numel()),
    }


class ClassifierScores(SampleMetric):
    """Confident share, class-histogram distance and classes covered, by the gankit classifier."""

    name = "cls"
    needs = "classifier"

    def applies_to(self, model, data) -> bool:
        return generates_images(model, data) and bool(data.class_names)

    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]:
        return classifier_scores(samples.probs(), reference.labels(), samples.probs().shape[1])
