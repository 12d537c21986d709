"""Metrics registry: name -> metric. Each metric declares what it needs.

    metric = METRICS["modes"]
    if metric.applies_to(data):
        values = metric.compute(model, data, num_samples=2500, seed=0)
"""

from __future__ import annotations

from gankit.errors import GankitError
from gankit.metrics.modes import ModeCoverage
from gankit.metrics.translation import CycleConsistency

METRICS = {
    "modes": ModeCoverage(),
    "cycle": CycleConsistency(),
}


def get_metric(name: str):
    try:
        return METRICS[name]
    except KeyError:
        raise GankitError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}") from None


def default_metrics(model, data) -> list[str]:
    """Metrics that apply to this model and data, in registry order."""
    return [name for name, metric in METRICS.items() if metric.applies_to(model, data)]
