import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from tests.conftest import TINY_TRAIN, tiny_overrides


def sets(data="toy:ring8", **extra):
    return [arg for item in tiny_overrides(data, **extra) for arg in ("--set", item)]


def test_every_verb_has_help_with_an_example(capsys):
    for verb in ("train", "sample", "translate", "eval", "score", "features", "report", "models", "data", "style-mix", "interpolate", "noise"):
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
    # The start line says what was resolved: shape, size of the data, split, budget, device.
    assert "training wgan_gp on toy:ring8 (2-D points, 512 examples, train split) for 4 steps" in out
    assert "device cpu" in out
    assert main(["sample", str(run), "--n", "10", "--format", "npy", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (10, 2)
    assert main(["eval", str(run), "--n", "100"]) == 0
    assert "modes_captured" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--steps", "6", "--no-progress"]) == 0


def test_eval_images_prints_scores_beside_floors(tmp_path, capsys, with_digits_classifier):
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", "digits", "--steps", "2", "--out", str(run), *sets("digits")]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--metrics", "fid,kid,pr,cls", "--features", "classifier", "--n", "150"]) == 0
    out = capsys.readouterr().out
    assert "features: classifier" in out and "floor" in out
    assert re.search(r"^fid\s+[0-9.e+-]+\s+[0-9.e+-]+$", out, re.M)
    saved = json.loads((run / "eval.json").read_text())
    assert saved["num_samples"] == 150 and {"fid_floor", "recall_floor", "cls_tv_floor"} <= set(saved)
    assert main(["eval", str(run), "--metrics", "fid", "--set", "data.split=test", "--n", "100"]) == 0
    assert json.loads((run / "eval.json").read_text())["data"] == "digits"
    assert main(["eval", str(run), "--metrics", "modes"]) == 2
    assert "does not apply" in capsys.readouterr().err
    assert main(["eval", str(run), "--set", "data.image_size=8"]) == 2
    assert "set data.image_size" in capsys.readouterr().err


def test_features_verb(capsys, tmp_path, monkeypatch, with_digits_classifier):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torch-fidelity cache of the weights
    assert main(["features", "list"]) == 0
    out = capsys.readouterr().out
    assert "classifier  digits  16 px" in out and "inception   not installed" in out
    assert main(["features", "train"]) == 2
    assert "needs --data" in capsys.readouterr().err
    assert main(["features", "inception"]) == 2
    assert main(["features", "inception", "--weights", str(tmp_path / "none.pth")]) == 2
    assert "not found" in capsys.readouterr().err
    # The demo's first command: a cached classifier is kept, not trained again.
    assert main(["features", "train", "--data", "digits", "--size", "16", "--if-missing"]) == 0
    assert "is cached" in capsys.readouterr().out


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
def test_bad_input_is_one_line_without_traceback(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out is runs/ in the working directory
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not any(tmp_path.rglob("config.yaml")), "a run that failed in set-up left a directory behind"


def test_a_failed_set_up_keeps_a_directory_the_user_made(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["train", "gan", "--data", "nope:x", "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "keep me"


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


TINY_STYLEGAN = ["model.latent_dim=8", "model.w_dim=8", "model.mapping_depth=2", "model.g_width=4",
                 "model.d_width=4", "model.max_width=8", "data.image_size=16"]


@pytest.fixture(scope="module")
def style_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("style") / "run"
    sets = [arg for item in TINY_STYLEGAN + TINY_TRAIN for arg in ("--set", item)]
    assert main(["train", "stylegan", "--data", "digits", "--steps", "2", "--out", str(run), *sets]) == 0
    return run


def test_stylegan_sample_with_truncation_and_style_verbs(style_run, tmp_path):
    run = str(style_run)
    assert main(["sample", run, "--n", "4", "--truncation", "0.5", "--cutoff", "2", "--format", "npy",
                 "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 1, 16, 16)
    assert main(["style-mix", run, "--rows", "1-2", "--cols", "3,4,5", "--layers", "coarse",
                 "--out", str(tmp_path / "mix.png")]) == 0
    width, height = Image.open(tmp_path / "mix.png").size
    assert width * 3 > height * 4 - 20  # 4 columns (blank + 3 destinations) by 3 rows (header + 2 sources)
    assert main(["interpolate", run, "--space", "z", "--steps", "3", "--out", str(tmp_path / "z.png")]) == 0
    assert main(["interpolate", run, "--space", "w", "--steps", "3", "--gif", "--out", str(tmp_path / "w.gif")]) == 0
    assert Image.open(tmp_path / "w.gif").n_frames > 1
    assert main(["noise", run, "--seeds", "0-1", "--draws", "4", "--show", "2"]) == 0
    assert (style_run / "noise.png").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["style-mix", "RUN", "--layers", "fine"], "no fine layers"),
        (["style-mix", "RUN", "--rows", "a,b"], "--rows takes seeds"),
        (["sample", "RUN", "--cutoff", "99"], "cutoff must be a layer count in 1..6"),
        (["noise", "RUN", "--draws", "1"], "draws >= 2"),
    ],
)
def test_style_verbs_bad_input_is_one_line(style_run, argv, message, capsys):
    argv = [str(style_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_gan_truncation_scales_z_and_a_stylegan_option_is_a_clear_error(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", "toy:ring8", "--steps", "1", "--out", str(run), *sets()]) == 0
    assert main(["sample", str(run), "--n", "5", "--truncation", "0.5", "--out", str(tmp_path / "s.npy")]) == 0
    model = gankit.load(run)
    z = model.draw_latents(5, "z", torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(np.load(tmp_path / "s.npy")), model.eval().generate(0.5 * z), atol=1e-6)
    assert main(["eval", str(run), "--truncation", "0.5", "--n", "50"]) == 0
    assert "50 samples (truncation 0.5) vs" in capsys.readouterr().out
    assert json.loads((run / "eval.json").read_text())["truncation"] == 0.5
    assert "truncation: 0.5" in (run / "report.html").read_text()  # a setting of the evaluation, not a metric row
    assert "<td>truncation</td>" not in (run / "report.html").read_text()
    assert main(["sample", str(run), "--cutoff", "2"]) == 2
    assert "gan models do not take --cutoff" in capsys.readouterr().err
    assert main(["style-mix", str(run)]) == 2
    assert "needs a style-based generator" in capsys.readouterr().err


def test_the_eval_table_labels_values_prints_integers_and_says_why_a_floor_is_missing(capsys):
    from gankit.commands.evaluate import print_scores

    print_scores({"num_images": 19713.0, "fid": 12.345678, "fid_floor": 0.5, "cycle_l1_a": 0.25})
    header, images, fid, cycle = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["metric", "value", "floor"]
    assert images.split()[:2] == ["num_images", "19,713"]
    assert fid.split() == ["fid", "12.35", "0.5"]
    assert "none: real images have no translation to undo" in cycle
