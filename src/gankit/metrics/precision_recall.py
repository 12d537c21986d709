"""Improved precision and recall, from "Improved Precision and Recall Metric for
Assessing Generative Models" (Kynkäänniemi et al. 2019).

Each set's manifold is the union of balls around its points, each ball reaching
the point's k-th nearest neighbour in its own set (k = 3 in the paper).
Precision is the share of generated points inside the real manifold (are the
samples realistic?); recall the share of real points inside the generated one
(is the variety covered?). Written here because no well-kept library has it;
tests check it against hand-made point sets.

    values = improved_precision_recall(real_features, fake_features, k=3)
    # {"precision": 0.81, "recall": 0.64}
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.samples import SampleMetric, SampleSet, generates_images


def knn_radii(points: Tensor, k: int, batch_size: int = 1024) -> Tensor:
    """[N] distance from each point to its k-th nearest neighbour in ``points`` (itself excluded)."""
    if points.shape[0] <= k:
        raise ValueError(f"need more than k={k} points, got {points.shape[0]}")
    radii = []
    for start in range(0, points.shape[0], batch_size):
        distances = torch.cdist(points[start:start + batch_size], points)  # [B, N]
        # The smallest distance is the point to itself (0), so the k-th neighbour is at index k.
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def coverage_of(manifold: Tensor, radii: Tensor, queries: Tensor, batch_size: int = 1024) -> Tensor:
    """[M] bool: is each query within the ball of at least one manifold point?"""
    inside = []
    for start in range(0, queries.shape[0], batch_size):
        distances = torch.cdist(queries[start:start + batch_size], manifold)  # [B, N]
        inside.append((distances <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def improved_precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> dict[str, float]:
    real, fake = real.double(), fake.double()  # float32 distances tie-break differently on large features
    precision = coverage_of(real, knn_radii(real, k), fake).double().mean()
    recall = coverage_of(fake, knn_radii(fake, k), real).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


class PrecisionRecall(SampleMetric):
    """Improved precision and recall (k = 3) of the samples' features against the real features."""

    name = "pr"
    needs = "features"

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def applies_to(self, model, data) -> bool:
        return generates_images(model, data)

    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]:
        return improved_precision_recall(reference.features(), samples.features(), self.k)
