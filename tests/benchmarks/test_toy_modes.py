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
