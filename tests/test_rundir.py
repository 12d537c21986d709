"""The run directory's layout and its lock (gankit/rundir.py)."""

import os

import pytest

from gankit.rundir import RunDirectory, RunLocked, gankit_home


def test_layout_names_every_file_once(tmp_path):
    run = RunDirectory(tmp_path)
    names = [run.config, run.metrics, run.evaluation, run.report, run.losses, run.metric_curves, run.samples,
             run.previews, run.checkpoints, run.normalization, run.tensorboard, run.lock_file]
    assert len(set(names)) == len(names) and all(p.parent == tmp_path for p in names)
    assert run.preview(12).name == "step-000000012.png"


def test_a_second_owner_is_refused_with_the_holder_and_the_lock_goes_with_its_owner(tmp_path):
    first = RunDirectory(tmp_path).lock("train")
    first.acquire()
    with pytest.raises(RunLocked, match=rf"in use by gankit train \(pid {os.getpid()} on .*\); wait for it"):
        RunDirectory(tmp_path).lock("train").acquire()
    first.release()
    assert not (tmp_path / ".lock").exists()
    with RunDirectory(tmp_path).lock("train"):  # free again
        assert (tmp_path / ".lock").exists()


def test_gankit_home(monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path))
    assert gankit_home() == tmp_path
    monkeypatch.delenv("GANKIT_HOME")
    assert gankit_home().parts[-2:] == (".cache", "gankit")
