"""The one way the benchmark tables summarise repeated runs (seeds): mean ± sample std.

The scripts run as files (``python benchmarks/NAME.py``), so each puts the repository root on
``sys.path`` before ``from benchmarks.summary import mean_std``."""

from __future__ import annotations

import statistics


def mean_std(values: list[float], digits: int = 3, scale: float = 1.0) -> str:
    """``mean ± std`` of ``values`` times ``scale``, to ``digits`` decimals (std 0 for one value); n/a for none."""
    if not values:
        return "n/a"
    scaled = [v * scale for v in values]
    spread = statistics.stdev(scaled) if len(scaled) > 1 else 0.0
    return f"{statistics.mean(scaled):.{digits}f} ± {spread:.{digits}f}"
