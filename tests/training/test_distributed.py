"""torchrun on CPU: 2 processes with the gloo backend (tests/training/ddp_worker.py runs in them)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit import api
from gankit.models import MODELS
from gankit.training.checkpoint import load_checkpoint
from gankit.training.logging import read_metrics
from gankit.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def worker_module():
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_rows(run: Path) -> list[dict]:
    return [r for r in read_metrics(run) if r["kind"] == "train"]


def test_every_variant_trains_under_torchrun_with_ranks_in_sync(tmp_path):
    torchrun(str(WORKER), "variants", str(tmp_path))
    results = json.loads((tmp_path / "variants.json").read_text())
    assert set(results) == set(MODELS)
    for name, result in results.items():
        # Ranks see different shards; equal weights afterwards mean DDP averaged every update.
        assert result == {"in_sync": True, "ranks": 2, "step": 2}, name
        run = tmp_path / name
        assert [r["step"] for r in train_rows(run)] == [1, 2], name  # only rank 0 writes
        model = api.load(run)  # a 2-rank checkpoint in one process
        assert model.step == 2
        if "sample" in model.capabilities():
            assert torch.isfinite(model.sample(2)).all(), name


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_two_ranks_match_one_process_with_twice_the_batch(tmp_path, monkeypatch):
    torchrun(str(WORKER), "parity", str(tmp_path))
    worker = worker_module()
    monkeypatch.setitem(MODELS, "deterministic_wgan", worker.DeterministicWGAN)
    overrides = worker.tiny("deterministic_wgan") + worker.TRAIN + [
        "data.spec=toy:ring8", "data.toy_samples=512", "model.network=mlp", "model.g_norm=none",
        "model.d_norm=none", "train.batch_size=32", "train.checkpoint_every=6",
    ]
    Trainer(api.make_config("deterministic_wgan", overrides=overrides, steps=6), tmp_path / "one").fit()
    two = load_checkpoint(tmp_path / "two-ranks" / "checkpoints" / "step-000000006.pt").model
    one = load_checkpoint(tmp_path / "one" / "checkpoints" / "step-000000006.pt").model
    # Stated tolerance: float sums in another order (two half-batch means, then DDP's average).
    for key in one:
        assert torch.allclose(one[key], two[key], rtol=1e-4, atol=1e-6), key
    for a, b in zip(train_rows(tmp_path / "one"), train_rows(tmp_path / "two-ranks"), strict=True):
        assert a.keys() == b.keys()
        assert {k: a[k] for k in a if k != "kind"} == pytest.approx({k: b[k] for k in b if k != "kind"}, rel=1e-4, abs=1e-6)


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_resume_from_a_two_rank_checkpoint(tmp_path, capsys):
    torchrun(str(WORKER), "resume", str(tmp_path))
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "step-000000006.pt")
    split = load_checkpoint(tmp_path / "split" / "checkpoints" / "step-000000006.pt")
    assert len(straight.rng) == 2  # every rank's random state
    for key in straight.model:  # 3 steps + resume + 3 steps == 6 steps, on 2 ranks, to the bit
        assert torch.equal(straight.model[key], split.model[key]), key
    assert train_rows(tmp_path / "straight") == train_rows(tmp_path / "split")
    # One process can go on from it too (its random streams are re-seeded, and it says so).
    result = api.resume(tmp_path / "split", steps=8)
    assert result.step == 8 and "re-seeded" in capsys.readouterr().out


def test_cli_under_torchrun(tmp_path):
    args = ["-m", "gankit", "train", "gan", "--data", "toy:ring8", "--steps", "4", "--no-progress",
            "--set", "data.toy_samples=512", "--set", "train.batch_size=16", "--set", "model.mlp_width=16"]
    done = torchrun(*args, "--out", str(tmp_path / "run"))
    assert done.stdout.count("done: 4 steps") == 1  # rank 0 reports, rank 1 stays quiet
    assert (tmp_path / "run" / "report.html").is_file()
    missing_out = subprocess.run(
        [sys.executable, "-m", "gankit", "train", "gan", "--steps", "1"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "WORLD_SIZE": "2", "RANK": "0"}, cwd=tmp_path,
    )
    assert missing_out.returncode == 2 and "give --out" in missing_out.stderr
