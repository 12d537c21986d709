"""Kill -9 stress test: `gankit train` is SIGKILLed at seeded random moments (some of them
while a checkpoint is being written) and resumed each time; the run must continue from its
last complete checkpoint, never from a temporary file, keep at most K checkpoints, finish,
and end with the very weights and logged losses of a run that was never interrupted."""

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gankit import api
from gankit.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from gankit.training.logging import read_metrics
from gankit.training.loop import Trainer

STEPS, KEEP = 20, 2
SETTINGS = {
    "model.latent_dim": 16, "model.g_width": 32, "model.d_width": 32, "train.batch_size": 16,
    "train.checkpoint_every": 2, "train.keep_checkpoints": KEEP, "train.log_every": 1,
    "train.sample_every": 1000, "train.eval_metrics": "[]", "train.progress": "false", "train.device": "cpu",
}
# One intra-op thread in the children as in this process, so their arithmetic is the same.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
       "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
RESUMED = re.compile(r"resuming .* from step (\d+) \(")
STEP_ROW = re.compile(r'^\{"step": (\d+), "kind": "train"')


def start(run: Path, resume: bool) -> subprocess.Popen:
    sets = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    command = ["--resume", str(run)] if resume else ["gan", "--data", "digits", "--out", str(run), *sets]
    return subprocess.Popen([sys.executable, "-m", "gankit", "train", *command, "--steps", str(STEPS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def wait_for(condition, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or the process ended (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.0005)
    raise TimeoutError("the training process made no progress")


def temporaries(directory: Path, pid: int | None = None) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if p.name.startswith(".step-") and (pid is None or p.name.endswith(f"-{pid}"))]


def last_logged_step(run: Path) -> int:
    """The last training step in metrics.jsonl so far (0 before the first; a half-written line is skipped)."""
    path = run / "metrics.jsonl"
    if not path.exists():
        return 0
    steps = [int(m.group(1)) for m in map(STEP_ROW.search, path.read_text().splitlines()) if m]
    return max(steps, default=0)


def kill_and_resume(tmp_path: Path, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    run, checkpoints = tmp_path / "run", tmp_path / "run" / "checkpoints"
    counts = {"kills": 0, "mid_write": 0, "finished_before_kill": 0}
    process = start(run, resume=False)
    for round_ in range(kills):
        if round_ % 2 == 0:
            # While a checkpoint is being written: the moment its temporary file appears
            # (after the first one: a run killed before any checkpoint has nothing to resume).
            alive = wait_for(lambda: list_checkpoints(checkpoints) and temporaries(checkpoints, process.pid), process)
        else:
            # At a random step once the run has a checkpoint to fall back on. Drawn as a step,
            # not a delay: on a fast machine the whole run can end within a second.
            target = rng.randint(2, STEPS - 4)
            alive = wait_for(lambda: list_checkpoints(checkpoints) and last_logged_step(run) >= target, process)
        if alive:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        if not alive:
            counts["finished_before_kill"] += 1
            break
        counts["kills"] += 1
        counts["mid_write"] += bool(temporaries(checkpoints, process.pid))
        complete = list_checkpoints(checkpoints)
        assert 1 <= len(complete) <= KEEP + 1  # K kept, plus at most the one just renamed
        latest = latest_checkpoint(checkpoints)
        assert latest == complete[-1] and not latest.name.startswith(".")
        expected = load_checkpoint(latest).step
        process = start(run, resume=True)
        assert wait_for(lambda: process.stdout.readable(), process)
        line = process.stdout.readline()
        match = RESUMED.search(line)
        assert match and int(match.group(1)) == expected, line
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert not temporaries(checkpoints)  # stale temporaries of killed writers were cleaned up
    assert len(list_checkpoints(checkpoints)) == KEEP
    return counts


def assert_same_as_uninterrupted(tmp_path: Path) -> None:
    overrides = [f"{key}={value}" for key, value in SETTINGS.items()]
    straight = Trainer(api.make_config("gan", data="digits", steps=STEPS, overrides=overrides), tmp_path / "straight").fit()
    a = load_checkpoint(straight.checkpoint)
    b = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))
    assert a.step == b.step == STEPS
    for key in a.model:
        assert torch.equal(a.model[key], b.model[key]), key
    losses = lambda run: [r for r in read_metrics(run) if r["kind"] == "train"]  # noqa: E731
    assert [r["step"] for r in losses(tmp_path / "run")] == list(range(1, STEPS + 1))  # every row, once
    assert losses(tmp_path / "run") == losses(tmp_path / "straight")


def test_kill_9_and_resume(tmp_path, capsys):
    counts = kill_and_resume(tmp_path, kills=3, seed=0)
    assert counts["kills"] == 3 and counts["mid_write"] >= 1, counts
    assert_same_as_uninterrupted(tmp_path)
    with capsys.disabled():
        print(f"\nkill -9 test: {counts}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_and_resume_many_times(tmp_path, seed, capsys):
    counts = kill_and_resume(tmp_path, kills=12, seed=seed)
    assert counts["kills"] >= 8, counts
    assert_same_as_uninterrupted(tmp_path)
    with capsys.disabled():
        print(f"\nkill -9 test (seed {seed}): {counts}")


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes_to_the_end(tmp_path):
    run = tmp_path / "run"
    process = start(run, resume=False)
    assert wait_for(lambda: list_checkpoints(run / "checkpoints"), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT and "checkpoint saved" in err
    saved = load_checkpoint(latest_checkpoint(run / "checkpoints")).step
    assert 0 < saved < STEPS
    process = start(run, resume=True)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and f"from step {saved} " in out, err
