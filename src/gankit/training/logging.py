"""Scalar sinks: ``RUN/metrics.jsonl`` always, TensorBoard when it is installed.

Only the loop writes here; models return detached floats from ``train_step``.

    writer = MetricsWriter(run_dir, tensorboard=True)
    writer.write(step=100, scalars={"loss_d": 0.7}, kind="train")
    rows = read_metrics(run_dir)
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from gankit.files import write_text
from gankit.rundir import RunDirectory


class RunningMeans:
    """Means of each scalar since the last ``pop``; keys may come and go between steps."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self.sums[key] += float(value)
            self.counts[key] += 1

    def pop(self) -> dict[str, float]:
        means = {k: self.sums[k] / self.counts[k] for k in self.sums}
        self.sums.clear()
        self.counts.clear()
        return means


class MetricsWriter:
    """Appends rows to metrics.jsonl (and TensorBoard); ``enabled=False`` (ranks other than 0
    under torchrun) makes every method a no-op, so only one process writes the run's files."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, *, enabled: bool = True) -> None:
        self.path = RunDirectory(run_dir).metrics
        self.enabled = enabled
        self.tensorboard = None
        if tensorboard and enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                pass
            else:
                self.tensorboard = SummaryWriter(str(RunDirectory(run_dir).tensorboard))

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step``: a resumed run replays those steps. The file is
        replaced atomically, so a crash here never loses the rows before ``step``."""
        if not self.enabled:
            return
        text = "".join(json.dumps(r) + "\n" for r in read_metrics(self.path.parent) if r["step"] <= step)
        write_text(self.path, text)

    def write(self, step: int, scalars: dict[str, float], kind: str = "train") -> None:
        if not self.enabled:
            return
        row: dict[str, Any] = {"step": step, "kind": kind}
        row.update({k: (v if math.isfinite(v) else str(v)) for k, v in scalars.items()})
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.tensorboard is not None:
            for key, value in scalars.items():
                self.tensorboard.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Rows of ``metrics.jsonl``; a line cut short by a crash is skipped."""
    path = RunDirectory(run_dir).metrics
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
