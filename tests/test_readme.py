"""Every command example in the README runs as written, with tiny budgets: training commands get
two steps and the tiny networks of tests/conftest.py; everything else is left as it is. The
examples run in order in one folder, as a reader would type them. Those that need the shared
data (MNIST) skip when it is absent, and are slow (a classifier, a test part of 14,000 images)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gankit.cli import main
from tests.conftest import SHARED_DATA, TINY_TRAIN, tiny_settings


README = Path(__file__).resolve().parents[1] / "README.md"
BUDGET = {"--steps", "--minutes", "--epochs"}
# Examples that need more than one CPU process can show in a test; each has its own test.
NOT_HERE = {
    "torchrun": "tests/training/test_distributed.py launches torchrun itself",
    "--compile": "torch.compile needs a C++ toolchain and minutes per network on a CPU",
    "gankit serve": "a server runs until it is stopped; tests/serve/ starts and stops one",
}


def examples() -> list[str]:
    """The README's command lines that start with gankit, in order, comments removed."""
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", README.read_text(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(("gankit ", "torchrun ", "python -m gankit"))]


def needs_shared_data(line: str) -> bool:
    return any(word in line for word in ("DIR", "../shared/data", "runs/g3", "g3.onnx", "runs/mnist"))


def tiny(argv: list[str]) -> list[str]:
    """``argv`` with a tiny budget (and tiny networks when a model is trained from scratch)."""
    argv = [a.replace("mnist:DIR", f"mnist:{SHARED_DATA / 'mnist'}").replace("../shared/data", str(SHARED_DATA))
            for a in argv]
    if argv[0] == "features" and argv[1] == "train":
        return argv + ["--epochs", "1"]
    if argv[0] != "train":
        return argv
    kept = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in BUDGET:
            skip = True
        else:
            kept.append(arg)
    sets = [*TINY_TRAIN, "train.eval_samples=50"]
    if "--resume" in kept:
        return kept + ["--steps", "4", "--no-progress"]
    model = kept[1]
    sets += [f"model.{k}={v}" for k, v in tiny_settings(model).items()]
    if "toy:" in " ".join(kept):
        sets.append("data.toy_samples=512")
    return kept + ["--steps", "2"] + [arg for item in sets for arg in ("--set", item)]


def make_reader_folder(root: Path) -> Path:
    """Where the reader types the examples: labels/, photos/ (a.png and b.png among them) and
    digits/ hold a few images each."""
    if (root / "labels").is_dir():
        return root
    for domain, shade in (("labels", 40), ("photos", 200)):
        (root / domain).mkdir()
        for index in range(30):
            name = {0: "a", 1: "b"}.get(index, str(index))
            Image.new("RGB", (16, 16), color=(shade, index * 8, 0)).save(root / domain / f"{name}.png")
    (root / "digits").mkdir()
    for index in range(3):
        Image.new("L", (28, 28), color=index * 80).save(root / "digits" / f"{index}.png")
    return root


@pytest.fixture
def reader_folder(tmp_path):
    return make_reader_folder(tmp_path)


def run_example(line: str, folder: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GANKIT_HOME", str(folder / "home"))
    if line.startswith("python "):  # a module of its own, as the reader runs it
        done = subprocess.run([sys.executable, *shlex.split(line)[1:]], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (line, done.stderr)
        return
    argv = tiny(shlex.split(line)[1:])
    assert main(argv) == 0, (line, capsys.readouterr().err)


def runnable(shared: bool) -> list[str]:
    return [line for line in examples() if not any(word in line for word in NOT_HERE)
            and (shared or not needs_shared_data(line))]


# One test per reader, not one per line: the examples build on each other (a run trained, then
# sampled, then resumed), so they must run in order in one process, whatever pytest-xdist does.
def test_readme_examples_run_in_order(reader_folder, monkeypatch, capsys):
    for line in runnable(shared=False):
        run_example(line, reader_folder, monkeypatch, capsys)


@pytest.mark.slow
def test_readme_examples_with_the_shared_data_run_in_order(tmp_path, monkeypatch, capsys):
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    for line in runnable(shared=True):
        run_example(line, make_reader_folder(tmp_path), monkeypatch, capsys)


def test_the_python_example_runs(tmp_path, monkeypatch):
    block = re.search(r"```python\n(.*?)```", README.read_text(), flags=re.S).group(1)
    settings = [*TINY_TRAIN, *(f"model.{k}={v}" for k, v in tiny_settings("wgan_gp").items())]

    def tiny(line: str) -> str:  # fewer toy points only where the data is a toy (digits take no toy_samples)
        toy = ["data.toy_samples=512"] if 'data="toy:' in line else []
        return re.sub(r"steps=\d+", f"steps=2, overrides={[*settings, *toy]!r}", line)

    code = "\n".join(tiny(line) for line in block.splitlines())
    assert code != block
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
