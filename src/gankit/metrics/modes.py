"""Mode coverage on 2-D Gaussian mixtures, as defined by VEEGAN and PacGAN.

A sample is *high quality* when it lies within 3 standard deviations of its
nearest mode centre; a mode is *captured* when at least one high-quality
sample has it as nearest mode. The papers draw 2,500 samples.

    values = mode_coverage(samples, modes, std=0.02)
    # {"modes_captured": 8, "num_modes": 8, "high_quality": 0.97}
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.capabilities import Sampler
from gankit.metrics.samples import SampleMetric, SampleSet


def mode_coverage(samples: Tensor, modes: Tensor, std: float, radius_in_std: float = 3.0) -> dict[str, float]:
    samples = samples.detach().float().cpu()  # [N, 2]
    modes = modes.float().cpu()  # [M, 2]
    distances = torch.cdist(samples, modes)  # [N, M]
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance <= radius_in_std * std  # [N]
    captured = torch.unique(nearest[high_quality])
    return {
        "modes_captured": int(captured.numel()),
        "num_modes": int(modes.shape[0]),
        "high_quality": float(high_quality.float().mean()),
    }


class ModeCoverage(SampleMetric):
    """Modes captured and share of high-quality samples, for the toy mixtures."""

    name = "modes"
    needs = "samples"

    def applies_to(self, model, data) -> bool:
        return data.modes is not None and isinstance(model, Sampler)

    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]:
        return mode_coverage(samples.x, reference.data.modes, reference.data.mode_std)
