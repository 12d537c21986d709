"""benchmarks/toy_modes.py's model names: the named settings, and any of them packed (-packM)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "toy_modes.py"
spec = importlib.util.spec_from_file_location("toy_modes", SCRIPT)
toy_modes = importlib.util.module_from_spec(spec)
sys.modules["toy_modes"] = toy_modes
spec.loader.exec_module(toy_modes)


def test_a_pack_suffix_adds_packing_to_any_named_settings():
    decay = toy_modes.COMMON + toy_modes.MODEL_SETTINGS["wgan_gp-decay"]
    assert toy_modes.settings_of("wgan_gp-decay") == decay
    assert toy_modes.settings_of("wgan_gp-decay-pack2") == decay + ["model.pack=2"]
    assert toy_modes.settings_of("gan-pack4") == toy_modes.COMMON + ["model.pack=4"]
    for wrong in ("wgan_gp-pak2", "gan-pack0", "gan-packx", "stylegan-pack2"):
        with pytest.raises(SystemExit, match="unknown model"):
            toy_modes.settings_of(wrong)


def _run(seed, high_quality, model="wgan_gp-decay", steps=40000):
    return {"mixture": "grid25", "model": model, "steps": steps, "seed": seed, "high_quality": high_quality,
            "modes_captured": 25, "num_modes": 25, "wall_s": 1.0, "peak_rss_mb": 1.0}


def test_a_table_run_in_parts_keeps_earlier_runs_and_replaces_reruns():
    first = toy_modes.merge({}, {"command": "first"}, [_run(0, 0.5), _run(1, 0.6)])
    second = toy_modes.merge(first, {"command": "second"}, [_run(1, 0.9), _run(2, 0.7), _run(0, 0.1, steps=10000)])
    assert [inv["command"] for inv in second["invocations"]] == ["first", "second"]
    by_key = {toy_modes.run_key(row): row for row in second["runs"]}
    assert len(second["runs"]) == 4
    assert by_key[("grid25", "wgan_gp-decay", 40000, 0)]["invocation"] == 0
    assert by_key[("grid25", "wgan_gp-decay", 40000, 1)] == {**_run(1, 0.9), "invocation": 1}
    table = toy_modes.summarise(second["runs"])
    assert "| grid25 | wgan_gp-decay | 3 | 40000 |" in table and "| grid25 | wgan_gp-decay | 1 | 10000 |" in table
