import errno
import os
import pickle
import shutil
import subprocess
import sys

import pytest
import torch

from gankit.errors import GankitError
from gankit.training.checkpoint import (
    check_free_space,
    estimated_size,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)


def test_save_keeps_the_newest_and_ignores_temporary_files(tmp_path):
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, {"w": torch.ones(2) * step}, keep=2)
    (tmp_path / ".step-000000050.pt.tmp-123").write_bytes(b"half written")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000000030.pt", "step-000000040.pt"]
    assert load_checkpoint(latest_checkpoint(tmp_path))["step"] == 40


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    save_checkpoint(tmp_path, 1, {"w": torch.zeros(1)}, keep=3)
    newest = save_checkpoint(tmp_path, 2, {"w": torch.zeros(1)}, keep=3)
    newest.write_bytes(newest.read_bytes()[:100])
    assert latest_checkpoint(tmp_path).name == "step-000000001.pt"
    with pytest.raises(GankitError, match="not a readable checkpoint"):
        load_checkpoint(newest)


class _WritesMarker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_a_pickle_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "step-000000001.pt"
    torch.save({"format": "gankit.checkpoint", "payload": _WritesMarker(marker)}, evil)
    with pytest.raises(GankitError, match="not a safe gankit checkpoint"):
        load_checkpoint(evil)
    assert not marker.exists()
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps(_WritesMarker(marker)))
    with pytest.raises(GankitError):
        load_checkpoint(plain)
    assert not marker.exists()


def test_foreign_files_and_versions_are_refused(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, other)
    with pytest.raises(GankitError, match="not a gankit checkpoint"):
        load_checkpoint(other)
    future = tmp_path / "future.pt"
    torch.save({"format": "gankit.checkpoint", "format_version": 99}, future)
    with pytest.raises(GankitError, match="format 99"):
        load_checkpoint(future)
    with pytest.raises(GankitError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_full_disk_mid_write_keeps_the_previous_checkpoint_and_no_temporary(tmp_path, monkeypatch):
    good = save_checkpoint(tmp_path, 1, {"w": torch.zeros(1000)}, keep=3)

    def disk_fills_up(obj, f):
        f.write(b"PK\x03\x04" + b"\0" * 4096)  # a zip header and part of the payload, then no space
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", disk_fills_up)
    with pytest.raises(GankitError, match=r"could not write checkpoint .*step-000000002\.pt: No space left.*kept"):
        save_checkpoint(tmp_path, 2, {"w": torch.ones(1000)}, keep=3)
    assert latest_checkpoint(tmp_path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no temporary, no partial file


def test_temporaries_of_killed_writers_are_removed_on_the_next_save(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".step-000000005.pt.tmp-{dead.pid}"
    stale.write_bytes(b"half written by a process killed mid-write")
    own = tmp_path / f".step-000000007.pt.tmp-{os.getpid()}"  # a writer still alive keeps its file
    own.write_bytes(b"in progress")
    save_checkpoint(tmp_path, 6, {"w": torch.zeros(1)}, keep=3)
    assert not stale.exists() and own.exists()


def test_too_little_free_space_stops_before_training(tmp_path, monkeypatch):
    from gankit import api
    from gankit.training.loop import Trainer
    from tests.conftest import tiny_overrides

    model = torch.nn.Linear(1000, 1000)  # 1,001,000 float32 parameters
    assert estimated_size(model) == 3 * 4 * 1_001_000
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=100))
    check_free_space(tmp_path / "not" / "yet" / "made", 100)
    with pytest.raises(GankitError, match=r"only 0\.0 MiB free .* one checkpoint needs about 11\.5 MiB"):
        check_free_space(tmp_path, estimated_size(model))
    config = api.make_config("gan", data="toy:ring8", overrides=tiny_overrides(**{"train.steps": 4}))
    with pytest.raises(GankitError, match="MiB free"):
        Trainer(config, tmp_path / "run").fit()
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # not a single step was trained


def test_a_read_only_run_directory_is_one_error_before_training(tmp_path, monkeypatch):
    from pathlib import Path

    from gankit import api
    from gankit.training.loop import Trainer
    from tests.conftest import tiny_overrides

    # Tests may run as root, for whom chmod does not make a directory read-only: fail the write instead.
    real_write = Path.write_text

    def read_only(self, *args, **kwargs):
        if self.parent.name == "run":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", read_only)
    config = api.make_config("gan", data="toy:ring8", overrides=tiny_overrides(**{"train.steps": 2}))
    with pytest.raises(GankitError, match=r"cannot write to run directory .*run: Read-only file system"):
        Trainer(config, tmp_path / "run")
