"""Every hint gankit prints is one line, and every command a hint suggests works as written:
each scenario below provokes a hint, runs the command it names with tiny settings, and checks
that what the hint was about then succeeds."""

from __future__ import annotations

import re
import shlex

import pytest
from PIL import Image

from gankit.cli import main
from tests.conftest import TINY_TRAIN, tiny_settings

COMMAND = re.compile(r"'(gankit [^']+)'")


def suggested(text: str) -> list[list[str]]:
    """The gankit commands quoted in ``text``, as argument lists for ``main``."""
    return [shlex.split(command)[1:] for command in COMMAND.findall(text)]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def tiny(name: str) -> list[str]:
    return sets(*TINY_TRAIN, "train.eval_samples=50", *(f"model.{k}={v}" for k, v in tiny_settings(name).items()))


def one_line_notes(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert not any("Warning:" in line or ".py:" in line for line in lines), stderr
    return [line for line in lines if line.startswith("gankit: note: ")]


def test_a_note_is_one_line_without_a_source_path(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(3):
        Image.new("L", (8, 8), color=index * 60).save(folder / f"{index}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    assert main(["data", f"folder:{folder}"]) == 0
    notes = one_line_notes(capsys.readouterr().err)
    assert len(notes) == 1 and "skipped 1 file(s)" in notes[0]


def test_the_classifier_hint_trains_the_classifier_that_eval_needs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path / "home"))
    run = tmp_path / "run"
    assert main(["train", "gan", "--steps", "2", "--out", str(run), *tiny("gan")]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--metrics", "fid", "--n", "50"]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1
    [command] = suggested(error)
    assert command[:2] == ["features", "train"]
    assert main([*command, "--epochs", "1"]) == 0
    assert main(["eval", str(run), "--metrics", "fid", "--n", "50"]) == 0
    assert "fid" in capsys.readouterr().out


def test_eval_on_a_detector_suggests_score_and_score_works(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the suggested `gankit score RUN` writes scores.csv where it runs
    run = tmp_path / "detector"
    assert main(["train", "ganomaly", "--steps", "2", "--out", str(run), *tiny("ganomaly")]) == 0
    capsys.readouterr()
    main(["eval", str(run), "--n", "50"])
    captured = capsys.readouterr()
    commands = suggested(captured.out + captured.err)
    assert commands == [["score", str(run)]]
    assert main(commands[0]) == 0


def test_cyclegan_on_unlabelled_folders_suggests_no_command_that_fails(tmp_path, capsys):
    for domain, shade in (("a", 40), ("b", 200)):
        (tmp_path / domain).mkdir()
        for index in range(30):
            Image.new("RGB", (16, 16), color=(shade, index * 8, 0)).save(tmp_path / domain / f"{index}.png")
    run = tmp_path / "run"
    spec = f"unpaired:{tmp_path / 'a'},{tmp_path / 'b'}"
    assert main(["train", "cyclegan", "--data", spec, "--steps", "2", "--out", str(run), *tiny("cyclegan"),
                 "--set", "train.batch_size=1"]) == 0
    notes = one_line_notes(capsys.readouterr().err)
    assert notes and all("no class labels" in note for note in notes)
    assert not any(suggested(note) for note in notes)


def test_the_inception_hint_names_a_command_that_answers(capsys):
    from gankit.data import load_data
    from gankit.config import DataConfig
    from gankit.errors import GankitError
    from gankit.metrics.features.classifier import load_classifier

    with pytest.raises(GankitError) as error:
        load_classifier(None, load_data(DataConfig(spec="toy:ring8", toy_samples=64)).subset([0]))
    assert "points" in str(error.value)  # not a hint with a command: points have no image features
    with pytest.raises(SystemExit) as exit_info:
        main(["features", "inception", "--help"])
    assert exit_info.value.code == 0
