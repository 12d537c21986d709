"""benchmarks/theory.py end to end at tiny budgets, and its closed-form references."""

import pytest
import importlib.util
import json
import math
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "theory.py"
spec = importlib.util.spec_from_file_location("theory", SCRIPT)
theory = importlib.util.module_from_spec(spec)
sys.modules["theory"] = theory  # dataclasses look their module up there
spec.loader.exec_module(theory)

TINY = theory.Budget(d_steps=20, saturation_steps=10, critic_steps=10, thetas=(0.5, 1.0), wgan_steps=40,
                     wgan_seeds=1, batch=32, eval_samples=500)


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_every_check_gives_a_verdict_a_figure_and_json_numbers(tmp_path):
    report = theory.run(TINY, tmp_path)
    assert [line.split()[0] in ("PASS", "FAIL") for line in report["verdicts"]] == [True] * 4
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{name}.png" for name in theory.CHECKS)
    json.dumps(report)
    assert report["machine"]["matmul_peak_fp32_gflops"] > 0


def test_closed_form_references():
    grid = torch.linspace(-10, 10, 20001)
    near, far = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(30.0, 1.0)
    assert abs(theory.js_divergence(near.log_prob(grid), near.log_prob(grid), grid)) < 1e-9
    # Disjoint in practice (30 std apart): JS is log 2.
    wide = torch.linspace(-10, 40, 50001)
    assert abs(theory.js_divergence(near.log_prob(wide), far.log_prob(wide), wide) - math.log(2)) < 1e-4
    target = theory.mixture(*theory.TARGET)
    torch.manual_seed(0)
    assert theory.exact_w1(target.sample((20000, 1)), target) < 0.03
    assert abs(theory.exact_w1(target.sample((20000, 1)) + 0.5, target) - 0.5) < 0.03  # a shift moves W1 by it
    lines = theory.parallel_lines(5, 0.7)
    assert lines.shape == (5, 2) and (lines[:, 0] == 0.7).all()
