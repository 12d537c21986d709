"""metrics.jsonl survives a crash while a resumed run rewrites it."""

import errno
import os
from pathlib import Path

import pytest

from gankit.errors import GankitError
from gankit.training.logging import MetricsWriter, read_metrics


def test_a_write_that_dies_while_truncating_keeps_every_row(tmp_path, monkeypatch):
    writer = MetricsWriter(tmp_path, tensorboard=False)
    for step in range(1, 7):
        writer.write(step, {"loss_d": float(step)})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 7, "kind": "tr')  # the line a kill -9 cut short

    def dies_half_way(self, data, *args, **kwargs):
        with open(self, "w") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def dies_in_the_write(f):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", dies_half_way)
    monkeypatch.setattr(os, "fsync", lambda fd: dies_in_the_write(None))
    with pytest.raises(GankitError, match="could not write .*metrics.jsonl: No space left on device; the previous file is kept"):
        writer.truncate_after(4)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4, 5, 6]  # nothing lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]
    monkeypatch.undo()
    writer.truncate_after(4)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4]
    assert (tmp_path / "metrics.jsonl").read_text().endswith("}\n")  # the cut line is gone
