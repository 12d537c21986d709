"""Fréchet and kernel distances between feature sets, computed by torchmetrics.

FID is from "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium" (Heusel et al. 2017); KID (the unbiased squared MMD with a
cubic polynomial kernel, mean and std over random subsets) from "Demystifying
MMD GANs" (Bińkowski et al. 2018). torchmetrics does the maths; its feature
module is a pass-through, because the evaluator extracts features once and
every metric shares them.

    fid = frechet_distance(real_features, fake_features)            # [N, D] each
    kid_mean, kid_std = kernel_distance(real_features, fake_features, subset_size=1000)
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from gankit.metrics.samples import SampleMetric, SampleSet, generates_images


class _Precomputed(nn.Module):
    """Features in, the same features out: the metrics' ``update`` then takes features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between feature sets [N, D] and [M, D] (float64 inside torchmetrics)."""
    metric = FrechetInceptionDistance(feature=_Precomputed(real.shape[1]))
    metric.update(real.double().cpu(), real=True)
    metric.update(fake.double().cpu(), real=False)
    return float(metric.compute())


def kernel_distance(real: Tensor, fake: Tensor, *, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID mean and std over ``subsets`` random subsets of ``subset_size`` (fewer when N is smaller)."""
    size = min(subset_size, real.shape[0], fake.shape[0])
    with warnings.catch_warnings():  # its warning about keeping every feature in memory: that is the intent
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=_Precomputed(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double().cpu(), real=True)
    metric.update(fake.double().cpu(), real=False)
    # torchmetrics draws its subsets from the global generator: fork it so a seed gives one answer.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def kid_subset_size(real: Tensor, fake: Tensor) -> int:
    """Subsets of at most half of each set (and 1000), so that they differ and KID's std means something."""
    return max(2, min(1000, real.shape[0] // 2, fake.shape[0] // 2))


class FID(SampleMetric):
    """Fréchet distance of the samples' features from the real features (lower is better)."""

    name = "fid"
    needs = "features"

    def applies_to(self, model, data) -> bool:
        return generates_images(model, data)

    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]:
        return {"fid": frechet_distance(reference.features(), samples.features())}


class KID(SampleMetric):
    """Kernel distance (unbiased, so it can dip below 0 for equal distributions), mean and std."""

    name = "kid"
    needs = "features"

    def applies_to(self, model, data) -> bool:
        return generates_images(model, data)

    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]:
        real, fake = reference.features(), samples.features()
        mean, std = kernel_distance(real, fake, subset_size=kid_subset_size(real, fake), seed=samples.seed)
        return {"kid_mean": mean, "kid_std": std}
