"""gankit translate and gankit eval on a tiny CycleGAN run, end to end through the CLI."""

import json

import pytest
from PIL import Image

from gankit.cli import main
from tests.conftest import TINY_CYCLEGAN, TINY_TRAIN


def sets(items):
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cyclegan") / "run"
    argv = ["train", "cyclegan", "--steps", "4", "--batch-size", "2", "--out", str(run), *sets(TINY_CYCLEGAN + TINY_TRAIN)]
    assert main(argv) == 0
    return run


def test_train_writes_a_preview_grid_and_resumes(run):
    # Six rows (input, translation, reconstruction for A and B) of the kept examples.
    assert (run / "samples.png").is_file()
    assert main(["train", "--resume", str(run), "--steps", "6", "--no-progress"]) == 0


def test_translate_files_and_folders_with_and_without_grid(run, tmp_path, capsys):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    for name in ("one.png", "sub/two.jpg"):
        Image.new("L", (20, 24), 200).save(inputs / name)
    assert main(["translate", str(run), str(inputs), "--direction", "a2b", "--out", str(tmp_path / "out")]) == 0
    assert "wrote 2 translations (a2b)" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "sub" / "two.png").size == (16, 16)
    argv = ["translate", str(run), str(inputs / "one.png"), "--direction", "b2a", "--out", str(tmp_path / "g"), "--grid"]
    assert main(argv) == 0
    width, height = Image.open(tmp_path / "g" / "one.png").size
    assert width > 3 * 16 and height >= 16  # input | translation | reconstruction


def test_eval_reports_cycle_l1_both_ways(run, capsys):
    assert main(["eval", str(run), "--n", "20"]) == 0
    values = json.loads((run / "eval.json").read_text())
    assert 0 <= values["cycle_l1_a"] <= 2 and 0 <= values["cycle_l1_b"] <= 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--direction", "a2b", "--out", "o", "/no/such.png"], "input not found: /no/such.png"),
        (["--direction", "a2b", "--out", "o", "--size", "18", "."], "multiple of 4"),
    ],
)
def test_bad_translate_input_is_one_line(run, argv, message, capsys, tmp_path):
    assert main(["translate", str(run), *argv[:-1], argv[-1] if argv[-1] != "." else str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_translate_refuses_models_that_cannot(tmp_path, capsys):
    run = tmp_path / "gan"
    assert main(["train", "gan", "--data", "digits", "--steps", "1", "--out", str(run), *sets(TINY_TRAIN + ["model.g_width=8", "model.d_width=8"])]) == 0
    Image.new("L", (16, 16)).save(tmp_path / "x.png")
    assert main(["translate", str(run), str(tmp_path / "x.png"), "--direction", "a2b", "--out", str(tmp_path / "o")]) == 2
    assert "gan models cannot translate" in capsys.readouterr().err
