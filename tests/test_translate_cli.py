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


# --- --split: the run's own data; --size native: each image at its own size ----------------------
@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A tiny run on two folders of 30 images of different sizes (labels/ -> photos/)."""
    root = tmp_path_factory.mktemp("domains")
    for domain, shade in (("labels", 40), ("photos", 200)):
        (root / domain).mkdir()
        for index in range(30):
            Image.new("RGB", (16 + index, 16), (shade, index * 8, 0)).save(root / domain / f"{index}.png")
    run = root / "run"
    argv = ["train", "cyclegan", "--data", f"unpaired:{root / 'labels'},{root / 'photos'}", "--steps", "2",
            "--batch-size", "2", "--out", str(run), *sets(TINY_CYCLEGAN + TINY_TRAIN)]
    assert main(argv) == 0
    return run


def written(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*.png"))


def test_without_inputs_the_test_split_of_the_source_domain_is_translated(folder_run, tmp_path, capsys):
    from gankit.config import DataConfig
    from gankit.data import load_data

    labels = folder_run.parent / "labels"
    held_out = sorted(path.with_suffix(".png").name for path in load_data(DataConfig(spec=f"folder:{labels}", split="test")).files)
    assert main(["translate", str(folder_run), "--direction", "a2b", "--out", str(tmp_path / "test")]) == 0
    assert f"wrote 6 translations (a2b) of the test split of domain A ({labels}) to" in capsys.readouterr().out
    assert written(tmp_path / "test") == held_out  # the images training never saw, under their own names
    assert Image.open(tmp_path / "test" / held_out[0]).size == (16, 16)  # the training size
    assert main(["translate", str(folder_run), "--direction", "a2b", "--split", "train", "--out", str(tmp_path / "train")]) == 0
    assert len(written(tmp_path / "train")) == 24 and not set(written(tmp_path / "train")) & set(held_out)
    assert main(["translate", str(folder_run), "--direction", "b2a", "--split", "all", "--out", str(tmp_path / "all")]) == 0
    assert "wrote 30 translations (b2a) of all images of domain B" in capsys.readouterr().out
    assert len(written(tmp_path / "all")) == 30


def test_a_split_of_data_held_as_tensors_is_named_by_index(run, tmp_path, capsys):
    from gankit.config import DataConfig
    from gankit.data import load_data

    eights = len(load_data(DataConfig(spec="digits", classes=[8], split="test")))  # the run's domain B
    assert main(["translate", str(run), "--direction", "b2a", "--out", str(tmp_path / "o"), "--grid"]) == 0
    assert f"wrote {eights} comparisons (b2a) of the test split of domain B (digits[classes=8])" in capsys.readouterr().out
    assert written(tmp_path / "o") == [f"test-{index:05d}.png" for index in range(eights)]


def test_native_size_writes_each_whole_image_at_its_own_size(folder_run, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("RGB", (300, 120), (90, 20, 30)).save(inputs / "wide.jpg")
    Image.new("L", (37, 23), 200).save(inputs / "odd.png")  # sides no multiple of the networks' stride
    base = ["translate", str(folder_run), str(inputs), "--direction", "a2b", "--size", "native"]
    assert main([*base, "--out", str(tmp_path / "o")]) == 0
    assert Image.open(tmp_path / "o" / "wide.png").size == (300, 120)
    assert Image.open(tmp_path / "o" / "odd.png").size == (37, 23)
    assert main([*base, "--out", str(tmp_path / "g"), "--grid"]) == 0
    width, height = Image.open(tmp_path / "g" / "wide.png").size
    assert width > 3 * 300 and height >= 120  # input | translation | reconstruction, each at 300 x 120
    # The run's own split at its files' own sizes (16 + index wide).
    assert main(["translate", str(folder_run), "--direction", "a2b", "--size", "native", "--out", str(tmp_path / "s")]) == 0
    for name in written(tmp_path / "s"):
        assert Image.open(tmp_path / "s" / name).size == (16 + int(name.removesuffix(".png")), 16)


def test_working_shape_keeps_the_training_scale_and_the_aspect():
    from gankit.translation import working_shape

    assert working_shape(120, 300, 16, 4) == (16, 40)  # shorter side at the training size
    assert working_shape(23, 37, 16, 4) == (16, 24)  # 25.7 rounded to the stride
    assert working_shape(16, 16, 16, 4) == (16, 16)  # at the training scale already: its own size
    assert working_shape(4000, 3, 16, 4) == (21332, 16)


def test_a_huge_image_is_refused_up_front_with_an_estimate(folder_run, tmp_path, capsys, monkeypatch):
    import gankit.memory

    Image.new("RGB", (3000, 2000)).save(tmp_path / "big.png")
    monkeypatch.setattr(gankit.memory, "available_memory", lambda: (2**20, 2**30))  # 1 MiB free
    argv = ["translate", str(folder_run), str(tmp_path / "big.png"), "--direction", "a2b", "--size", "native",
            "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "big.png (3000 x 2000 pixels) at its own size: about" in err and "leave out --size native" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["x.png", "--split", "test"], "INPUT files and folders are translated whole"),
        (["--size", "big"], "expected a size in pixels or native, got 'big'"),
        (["--size", "-4"], "must be > 0"),
    ],
)
def test_bad_split_or_size_is_one_line(folder_run, argv, message, tmp_path, capsys):
    try:
        code = main(["translate", str(folder_run), *argv, "--direction", "a2b", "--out", str(tmp_path / "o")])
    except SystemExit as exit:  # a usage error
        code = exit.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_translating_a_training_folder_whole_says_so(folder_run, tmp_path, capsys):
    argv = ["translate", str(folder_run), str(folder_run.parent / "photos"), "--direction", "b2a", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "is domain B of the run's training data" in capsys.readouterr().err


def test_the_split_is_never_written_over_its_own_folder(folder_run, capsys):
    labels = folder_run.parent / "labels"
    before = {path.name: path.read_bytes() for path in labels.iterdir()}
    assert main(["translate", str(folder_run), "--direction", "a2b", "--out", str(labels)]) == 2
    assert "is the input folder" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in labels.iterdir()} == before


def test_a_model_of_no_run_has_no_split(run, tmp_path):
    from gankit import api
    from gankit.errors import GankitError
    from gankit.translation import translate_split

    model = api.load(run)
    model.run_config = None
    with pytest.raises(GankitError, match="comes from no run"):
        translate_split(model, "a2b", tmp_path)


def test_help_names_the_split_and_native_size(capsys):
    with pytest.raises(SystemExit):
        main(["translate", "--help"])
    out = capsys.readouterr().out
    assert "--split {test,train,all}" in out and "test (default" in out and "--size N|native" in out


def test_grid_columns_are_labelled_on_the_image(tmp_path):
    import torch

    from gankit.report.plots import save_image_grid
    from gankit.translation import write

    x = torch.zeros(1, 16, 16)
    plain = save_image_grid(torch.stack([x, x, x]), tmp_path / "plain.png", nrow=3)
    labelled = write(tmp_path / "labelled.png", x, x, x, "b2a")
    assert Image.open(labelled).height > Image.open(plain).height  # a row of column names on top
