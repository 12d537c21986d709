import pytest
import torch

from gankit.metrics.precision_recall import improved_precision_recall, knn_radii


def on_line(*xs):
    return torch.tensor([[float(x), 0.0] for x in xs])  # [N, 2]


def test_knn_radii_by_hand():
    # 0..9 on a line: the ends reach their 3rd neighbour at distance 3, inner points at 2.
    radii = knn_radii(on_line(*range(10)), k=3)
    assert radii.tolist() == [3, 2, 2, 2, 2, 2, 2, 2, 2, 3]


def test_precision_and_recall_by_hand():
    real = on_line(*range(10))  # its balls cover [-3, 12]
    # Half of the samples lie among the real points, half far away in a cluster of their own.
    fake = on_line(0.5, 1.5, 2.5, 3.5, 30, 31, 32, 33)
    # Near cluster radii: 3, 2, 2, 3 -> covers [-2.5, 6.5] -> real 0..6 (7 of 10); far cluster covers [27, 36].
    assert improved_precision_recall(real, fake, k=3) == {"precision": 0.5, "recall": 0.7}


def test_identical_sets_score_one():
    points = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    assert improved_precision_recall(points, points.clone()) == {"precision": 1.0, "recall": 1.0}


def test_mode_collapse_keeps_precision_and_loses_recall():
    real = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    fake = real[:1].repeat(50, 1)  # every sample is one real point: radius 0
    values = improved_precision_recall(real, fake)
    assert values["precision"] == 1.0 and values["recall"] == pytest.approx(1 / 500)


def test_matches_brute_force_definition():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(120, 5, generator=g), torch.randn(90, 5, generator=g) + 0.4

    def brute(manifold, queries, k=3):
        radii = [sorted(torch.dist(p, q).item() for q in manifold)[k] for p in manifold]
        inside = [any(torch.dist(x, p).item() <= r for p, r in zip(manifold, radii)) for x in queries]
        return sum(inside) / len(inside)

    values = improved_precision_recall(real, fake)
    assert values["precision"] == pytest.approx(brute(real, fake))
    assert values["recall"] == pytest.approx(brute(fake, real))
