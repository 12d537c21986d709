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
    Checkpoint,
    CheckpointError,
    check_free_space,
    estimated_size,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)


def tiny(step: int, size: int = 2, **changes) -> Checkpoint:
    """A small checkpoint with every entry of the schema."""
    entries = dict(step=step, gankit_version="test", model_name="gan", config={}, data_shape=[2],
                   model={"w": torch.ones(size) * step})
    return Checkpoint(**{**entries, **changes})


def test_save_keeps_the_newest_and_ignores_temporary_files(tmp_path):
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, tiny(step), keep=2)
    (tmp_path / ".step-000000050.pt.tmp-123").write_bytes(b"half written")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000000030.pt", "step-000000040.pt"]
    assert load_checkpoint(latest_checkpoint(tmp_path)).step == 40


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    save_checkpoint(tmp_path, tiny(1), keep=3)
    newest = save_checkpoint(tmp_path, tiny(2), keep=3)
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
    with pytest.raises(CheckpointError, match=r"is refused: loading it would run code from the file \(it would call posix\.system\)") as caught:
        load_checkpoint(evil)
    message = str(caught.value)
    assert "weights_only" not in message and "\x1b" not in message and "\n" not in message  # no advice to unpickle
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
    with pytest.raises(GankitError, match="format 99; this gankit reads format 2 and older"):
        load_checkpoint(future)
    with pytest.raises(GankitError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_full_disk_mid_write_keeps_the_previous_checkpoint_and_no_temporary(tmp_path, monkeypatch):
    good = save_checkpoint(tmp_path, tiny(1, 1000), keep=3)

    def disk_fills_up(obj, f):
        f.write(b"PK\x03\x04" + b"\0" * 4096)  # a zip header and part of the payload, then no space
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", disk_fills_up)
    with pytest.raises(GankitError, match=r"could not write checkpoint .*step-000000002\.pt: No space left.*kept"):
        save_checkpoint(tmp_path, tiny(2, 1000), keep=3)
    assert latest_checkpoint(tmp_path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no temporary, no partial file


def test_temporaries_of_killed_writers_are_removed_on_the_next_save(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".step-000000005.pt.tmp-{dead.pid}"
    stale.write_bytes(b"half written by a process killed mid-write")
    own = tmp_path / f".step-000000007.pt.tmp-{os.getpid()}"  # a writer still alive keeps its file
    own.write_bytes(b"in progress")
    save_checkpoint(tmp_path, tiny(6), keep=3)
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
    with pytest.raises(GankitError, match=r"one checkpoint \(free some space or choose another --out\): about 11\.5 MiB of disk needed; .* has 100 bytes free"):
        check_free_space(tmp_path, estimated_size(model))
    config = api.make_config("gan", data="toy:ring8", overrides=tiny_overrides(**{"train.steps": 4}))
    with pytest.raises(GankitError, match="of disk needed"):
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


@pytest.mark.parametrize("keep", [1, 3])
@pytest.mark.parametrize("damage", ["truncated", "empty", "pickle"])
def test_rotation_counts_and_deletes_only_complete_checkpoints(tmp_path, keep, damage):
    """A damaged file under a higher step number used to take a slot and make rotation delete
    every good checkpoint: now it is never counted and never deleted, and good ones stay."""
    for step in (5, 10):
        good = save_checkpoint(tmp_path, tiny(step), keep=keep)
    damaged = tmp_path / "step-000000999.pt"
    content = {"truncated": good.read_bytes()[:200], "empty": b"", "pickle": pickle.dumps(_WritesMarker(tmp_path / "x"))}
    damaged.write_bytes(content[damage])
    for step in (15, 20, 25, 30):
        save_checkpoint(tmp_path, tiny(step), keep=keep)
    complete = [p.name for p in list_checkpoints(tmp_path) if p != damaged]
    assert complete == [f"step-{s:09d}.pt" for s in (15, 20, 25, 30)[-keep:]]
    assert damaged.exists()  # not ours to judge: kept, and skipped by readers with a note
    assert latest_checkpoint(tmp_path).name == "step-000000030.pt"


def test_a_damaged_checkpoint_skipped_by_a_reader_is_named(tmp_path, capsys):
    save_checkpoint(tmp_path, tiny(1), keep=3)
    (tmp_path / "step-000000002.pt").write_bytes(pickle.dumps(_WritesMarker(tmp_path / "x")))
    assert latest_checkpoint(tmp_path).name == "step-000000001.pt"
    err = capsys.readouterr().err
    assert "skipped" in err and "step-000000002.pt" in err and "would run code" in err


def test_a_real_failed_write_keeps_the_previous_checkpoint(tmp_path, file_size_limit):
    good = save_checkpoint(tmp_path, tiny(1, 100), keep=3)
    file_size_limit(20_000)
    with pytest.raises(CheckpointError, match=r"could not write checkpoint .*step-000000002\.pt: File too large; "
                                              r"the checkpoints saved before are kept \(step-000000001\.pt\)"):
        save_checkpoint(tmp_path, tiny(2, 100_000), keep=3)
    assert latest_checkpoint(tmp_path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]


def test_a_real_full_disk_keeps_the_previous_checkpoint(tmp_path):
    """On a real 256 KiB tmpfs (needs root to mount; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        good = save_checkpoint(disk, tiny(1, 100), keep=3)
        with pytest.raises(CheckpointError, match=r"No space left on device; the checkpoints saved before are kept"):
            save_checkpoint(disk, tiny(2, 200_000), keep=3)
        assert latest_checkpoint(disk) == good
        assert sorted(p.name for p in disk.iterdir()) == [good.name]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_symlinked_checkpoint_is_refused_in_one_line(tmp_path):
    good = save_checkpoint(tmp_path / "elsewhere", tiny(1), keep=3)
    (tmp_path / "run").mkdir()
    for target in (good, "/etc/passwd"):
        link = tmp_path / "run" / "step-000000002.pt"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        with pytest.raises(CheckpointError, match=r"is a symbolic link \(to .*\); gankit reads only checkpoint files"):
            load_checkpoint(link)
        assert latest_checkpoint(tmp_path / "run") is None


@pytest.mark.parametrize("changes, message", [
    ({"step": -5}, "claims step -5"),
    ({"model": {"w": torch.tensor([1.0, float("nan")])}}, "weight w holds NaN"),
    ({"model": {"w": torch.tensor([float("inf")])}}, "weight w holds NaN or infinite"),
    ({"model": {"w": [1.0]}}, "weights hold a list under 'w'"),
    ({"data_shape": [0, -1]}, "is not a shape"),
    ({"step": 1.5}, "entry 'step' is a float"),
    ({"model_name": 3}, "entry 'model_name' is a int"),
    ({"rng": [1, 2]}, "'rng' is not a list of random states"),
    ({"lr_scale": float("nan")}, "must be finite"),
])
def test_entries_that_lie_are_one_error(tmp_path, changes, message):
    checkpoint = tiny(1)
    for name, value in changes.items():
        setattr(checkpoint, name, value)
    path = tmp_path / "step-000000001.pt"  # written as a liar would: torch.save, not our writer
    torch.save(checkpoint.payload(), path)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_checkpoint(path)
    assert "\n" not in str(caught.value)


def test_special_files_are_refused(tmp_path):
    fifo = tmp_path / "step-000000001.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(fifo)  # and never blocks waiting for a writer
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "dir.pt")
