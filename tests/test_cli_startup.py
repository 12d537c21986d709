"""The command line answers --help and usage errors without importing torch (issue 17, item 12)."""

import subprocess
import sys

import pytest

import gankit

HEAVY = ("torch", "numpy", "matplotlib", "torchmetrics")

PROBE = """
import contextlib, io, sys
from gankit.cli import VERBS, main
for argv in [["--help"]] + [[verb.name, "--help"] for verb in VERBS] + [["train", "--steps", "x"], ["nonsense"]]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(",".join(name for name in {heavy!r} if name in sys.modules))
"""


def test_help_and_usage_errors_import_nothing_heavy():
    # A fresh interpreter: this test process has long imported torch.
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"parsing imported {out.stdout.strip()}"


def test_the_api_names_load_on_first_use():
    assert callable(gankit.train) and callable(gankit.load) and callable(gankit.score)
    assert "gan" in gankit.MODELS
    assert {"MODELS", "load", "score", "train"} <= set(dir(gankit))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        gankit.nonsense
