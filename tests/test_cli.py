import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from tests.conftest import tiny_overrides


def sets(data="toy:ring8", **extra):
    return [arg for item in tiny_overrides(data, **extra) for arg in ("--set", item)]


def test_every_verb_has_help_with_an_example(capsys):
    for verb in ("train", "sample", "eval", "score", "models", "data"):
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out


def test_models_lists_every_variant(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "gan" in out and "wgan_gp" in out and "[sample]" in out


def test_train_sample_eval_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "wgan_gp", "--data", "toy:ring8", "--steps", "4", "--out", str(run), *sets()]) == 0
    out = capsys.readouterr().out
    assert "samples.png" in out and "checkpoint" in out
    assert main(["sample", str(run), "--n", "10", "--format", "npy", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (10, 2)
    assert main(["eval", str(run), "--n", "100"]) == 0
    assert "modes_captured" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--steps", "6", "--no-progress"]) == 0


def test_sample_images_as_grid_and_folder(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", "digits", "--steps", "2", "--out", str(run), *sets("digits")]) == 0
    assert main(["sample", str(run), "--n", "4", "--format", "folder", "--out", str(tmp_path / "pngs")]) == 0
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == [f"00000{i}.png" for i in range(4)]
    assert Image.open(tmp_path / "pngs" / "000000.png").size == (16, 16)  # native size, not enlarged
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size[0] >= 2 * 64  # 2x2 tiles enlarged to 64 px


def test_data_verb_describes_and_previews(tmp_path, capsys):
    assert main(["data", "digits", "--classes", "3,5", "--preview", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and (tmp_path / "p.png").is_file()
    assert main(["data", "toy:grid25", "--preview", str(tmp_path / "g.png")]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "dcgan"], "unknown model 'dcgan'; valid models: gan"),
        (["train", "gan", "--set", "train.stepz=3"], "unknown key train.stepz"),
        (["train", "gan", "--data", "nope:x"], "nope"),
        (["train", "gan", "--data", "folder:/does/not/exist"], "/does/not/exist"),
        (["train", "gan", "--config", "/no/such.yaml"], "config file not found"),
        (["train"], "name a model"),
        (["sample", "/no/run"], "run directory not found"),
        (["data", "mnist:/no/such/dir"], "/no/such/dir"),
    ],
)
def test_bad_input_is_one_line_without_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_debug_shows_the_traceback(capsys):
    assert main(["train", "dcgan", "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_sigterm_saves_a_checkpoint_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "gan", "--data", "toy:ring8", "--steps", "1000000",
           "--out", str(run), *sets(**{"train.checkpoint_every": 100000})]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 60
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "checkpoint saved" in err
    assert list((run / "checkpoints").glob("step-*.pt"))
