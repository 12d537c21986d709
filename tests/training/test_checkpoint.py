import os
import pickle

import pytest
import torch

from gankit.errors import GankitError
from gankit.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint


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
