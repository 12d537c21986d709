"""gankit project / inpaint / interpolate --latents from the command line, on tiny trained runs."""

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from tests.conftest import TINY_TRAIN, tiny_overrides

SEARCH = ["--steps", "3", "--no-progress"]
TINY_STYLEGAN = ["model.latent_dim=8", "model.w_dim=8", "model.mapping_depth=2", "model.g_width=4",
                 "model.d_width=4", "model.max_width=8", "data.image_size=16"]


def _train(tmp_path_factory, name, overrides, data="digits"):
    run = tmp_path_factory.mktemp(name) / "run"  # name: the model
    sets = [arg for item in overrides for arg in ("--set", item)]
    assert main(["train", name, "--data", data, "--steps", "2", "--out", str(run), *sets]) == 0
    return run


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return _train(tmp_path_factory, "gan", tiny_overrides("digits", **{"data.image_size": 16}))


@pytest.fixture(scope="module")
def style_run(tmp_path_factory):
    return _train(tmp_path_factory, "stylegan", TINY_STYLEGAN + TINY_TRAIN)


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder


@pytest.mark.parametrize("which,space", [("gan", None), ("stylegan", None), ("stylegan", "w+")])
def test_project_then_walk_between_two_real_images(which, space, gan_run, style_run, images, tmp_path, capsys):
    run = str(gan_run if which == "gan" else style_run)
    out = tmp_path / "projected"
    argv = ["project", run, str(images), "--out", str(out), *SEARCH] + (["--space", space] if space else [])
    assert main(argv) == 0
    assert "projected 3 images into" in capsys.readouterr().out
    assert len((out / "projection.csv").read_text().splitlines()) == 4
    latents = f"{out / 'img0.safetensors'},{out / 'img2.safetensors'}"
    assert main(["interpolate", run, "--latents", latents, "--steps", "4", "--out", str(tmp_path / "walk.png")]) == 0
    assert (tmp_path / "walk.png").is_file()
    assert main(["interpolate", run, "--latents", latents, "--steps", "4", "--gif", "--out", str(tmp_path / "walk.gif")]) == 0
    assert Image.open(tmp_path / "walk.gif").n_frames == 4


@pytest.mark.parametrize("mask", ["center:0.4", "random-boxes:3", "lines"])
def test_inpaint_with_generated_masks(mask, gan_run, images, tmp_path, capsys):
    out = tmp_path / "filled"
    assert main(["inpaint", str(gan_run), str(images), "--mask", mask, "--out", str(out), *SEARCH]) == 0
    assert "inpainted 3 images (poisson blending)" in capsys.readouterr().out
    for i in range(3):
        for kind in ("filled", "raw", "grid"):
            assert (out / f"img{i}-{kind}.png").is_file()


def test_inpaint_stylegan_with_one_mask_file(style_run, images, tmp_path):
    mask = np.zeros((16, 16), np.uint8)
    mask[4:10, 4:12] = 255
    Image.fromarray(mask).save(tmp_path / "hole.png")
    out = tmp_path / "filled"
    assert main(["inpaint", str(style_run), str(images / "img1.png"), "--mask", str(tmp_path / "hole.png"),
                 "--out", str(out), "--blend", "alpha", "--space", "w+", "--no-original", *SEARCH]) == 0
    filled = np.array(Image.open(out / "img1-filled.png"))
    original = np.array(Image.open(images / "img1.png"))
    assert np.array_equal(filled[mask == 0], original[mask == 0])


def test_bad_input_is_one_line(gan_run, images, tmp_path, capsys, tmp_path_factory):
    points_run = _train(tmp_path_factory, "gan", tiny_overrides("toy:ring8"), data="toy:ring8")
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(black)
    big = tmp_path / "big.png"
    Image.fromarray(np.full((24, 24), 255, np.uint8)).save(big)
    (tmp_path / "text.png").write_text("hello")
    cases = [
        (["inpaint", str(gan_run), str(images), "--mask", "center:2", "--out", "o"], "share of the area"),
        (["inpaint", str(gan_run), str(images), "--mask", "smudge", "--out", "o"], "neither a mask file"),
        (["inpaint", str(gan_run), str(images), "--mask", str(black), "--out", "o"], "marks no pixel missing"),
        (["inpaint", str(gan_run), str(images), "--mask", str(big), "--out", "o"], "24x24 px but its image is 16x16"),
        (["inpaint", str(gan_run), str(images), "--mask", str(tmp_path / "text.png"), "--out", "o"], "is not an image"),
        (["project", str(points_run), str(images), "--out", "o"], "latent search works on images"),
        (["project", str(gan_run), str(images), "--out", "o", "--space", "w+"], "needs a style-based generator"),
        (["project", str(gan_run), str(images), "--out", "o", "--restarts", "0"], "must be > 0, got 0"),
        (["project", str(gan_run), str(images), "--out", "o", "--lpips", "vgg.pth"], "LPIPS weights file not found"),
        (["project", str(gan_run), str(tmp_path / "none"), "--out", "o"], "input not found"),
        (["interpolate", str(gan_run), "--latents", str(black)], "not a safetensors latent file"),
    ]
    for argv, message in cases:
        try:
            status = main(argv)
        except SystemExit as stop:  # argument errors end in argparse, with the same one line
            status = stop.code
        assert status == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


@pytest.mark.parametrize("verb", ["project", "inpaint", "interpolate"])
def test_help_has_examples(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and ("--latents" in out if verb == "interpolate" else f"gankit {verb} runs/" in out)
