"""Inpainting: masks, Poisson blending, Yeh et al.'s objective, files; known pixels bit-identical."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.errors import GankitError
from gankit.latent.blend import poisson_blend
from gankit.latent.inpaint import context_weights, inpaint, inpaint_files
from gankit.latent.masks import generated_masks
from gankit.latent.search import SearchOptions
from tests.latent.conftest import GENERATORS, trained_like


def test_generated_masks():
    center = generated_masks("center:0.25", 2, 16)
    assert center.shape == (2, 1, 16, 16) and center.sum().item() == 2 * 64  # an 8x8 square
    assert center[0, 0, 4:12, 4:12].all()
    boxes = generated_masks("random-boxes:3", 5, 32, seed=1)
    assert boxes.any((1, 2, 3)).all() and not boxes.all((1, 2, 3)).any()
    assert not torch.equal(boxes[0], boxes[1])  # each image its own boxes ...
    assert torch.equal(boxes[:2], generated_masks("random-boxes:3", 2, 32, seed=1))  # ... fixed by (seed, index)
    lines = generated_masks("lines", 3, 32)
    assert 0 < lines.float().mean() < 0.6


@pytest.mark.parametrize("spec", ["center:1.5", "center:x", "random-boxes:0", "lines:3", "blob"])
def test_bad_mask_specs_are_one_line_errors(spec):
    with pytest.raises(GankitError, match="--mask"):
        generated_masks(spec, 1, 16)


def test_context_weights_follow_yeh():
    hole = torch.zeros(1, 1, 9, 9, dtype=torch.bool)
    hole[..., 4, 4] = True
    weights = context_weights(hole, window=3)
    assert weights[0, 0, 4, 4] == 0  # the hole itself
    assert weights[0, 0, 3, 3] == pytest.approx(1 / 9)  # a neighbour sees one hole pixel of nine
    assert weights[0, 0, 0, 0] == 0  # far from the hole: no weight
    assert torch.equal(context_weights(hole, "uniform"), (~hole).float())


def test_poisson_blend_keeps_known_pixels_and_the_fills_gradients():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 24, 24, generator=generator) * 2 - 1
    hole = generated_masks("center:0.3", 2, 24)
    # A fill that is the image plus a brightness offset: gradients match, so blending removes the offset.
    blended = poisson_blend(image, image + 0.3, hole)
    assert torch.equal(blended[~hole.expand_as(image)], image[~hole.expand_as(image)])
    assert torch.allclose(blended, image, atol=1e-4)


def test_poisson_blend_with_a_hole_on_the_image_border():
    image = torch.linspace(-1, 1, 16).expand(1, 1, 16, 16).clone()
    hole = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    hole[..., :5, :] = True  # the top rows: free (Neumann) at the image's edge
    assert torch.allclose(poisson_blend(image, image - 0.5, hole), image, atol=1e-4)


@pytest.mark.parametrize("name", GENERATORS)
def test_inpainting_fills_only_the_hole(name):
    model = trained_like(name)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    hole = generated_masks("center:0.3", 3, 16)
    start = inpaint(model, x, hole, options=SearchOptions(steps=0))
    result = inpaint(model, x, hole, options=SearchOptions(steps=10, lr=0.05))
    assert torch.equal(result.filled[~hole.expand_as(x)], x[~hole.expand_as(x)])  # bit for bit
    assert not torch.equal(result.filled[hole.expand_as(x)], x[hole.expand_as(x)])
    assert result.loss.mean() < start.loss.mean()
    assert result.raw.shape == x.shape


def test_stylegan_w_plus_and_alpha_blending():
    model = trained_like("stylegan")
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    hole = generated_masks("random-boxes:2", 2, 16)
    result = inpaint(model, x, hole, space="w+", blend="alpha", options=SearchOptions(steps=3))
    assert torch.equal(result.filled, torch.where(hole, result.raw, x))


def test_masks_that_leave_nothing_to_do_are_one_line_errors():
    model = trained_like("gan")
    x = torch.zeros(1, 1, 16, 16)
    with pytest.raises(GankitError, match="no pixel missing"):
        inpaint(model, x, torch.zeros(1, 1, 16, 16, dtype=torch.bool))
    with pytest.raises(GankitError, match="every pixel missing"):
        inpaint(model, x, torch.ones(1, 1, 16, 16, dtype=torch.bool))
    with pytest.raises(GankitError, match="mask must be"):
        inpaint(model, x, torch.zeros(1, 1, 8, 8, dtype=torch.bool))


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def test_inpaint_files_with_a_mask_folder_keeps_known_bytes(tmp_path):
    model = trained_like("gan")
    rng = np.random.default_rng(0)
    for i in range(2):
        _write(tmp_path / "in" / f"d{i}.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
        mask = np.zeros((16, 16), np.uint8)
        mask[2 + i : 9, 3:10] = 255
        _write(tmp_path / "masks" / f"d{i}.png", mask)
    rows = inpaint_files(model, [tmp_path / "in"], str(tmp_path / "masks"), tmp_path / "out",
                         options=SearchOptions(steps=2))
    assert len(rows) == 2
    for i in range(2):
        original = np.array(Image.open(tmp_path / "in" / f"d{i}.png"))
        filled = np.array(Image.open(tmp_path / "out" / f"d{i}-filled.png"))
        known = np.array(Image.open(tmp_path / "masks" / f"d{i}.png")) < 128
        assert np.array_equal(filled[known], original[known])
        assert (tmp_path / "out" / f"d{i}-raw.png").is_file() and (tmp_path / "out" / f"d{i}-grid.png").is_file()


def test_inpaint_files_bad_masks(tmp_path):
    model = trained_like("gan")
    image = _write(tmp_path / "a.png", np.zeros((16, 16), np.uint8))
    out = tmp_path / "out"
    _write(tmp_path / "big.png", np.full((20, 20), 255, np.uint8))
    with pytest.raises(GankitError, match="20x20 px but its image is 16x16"):
        inpaint_files(model, [image], str(tmp_path / "big.png"), out)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(GankitError, match="is not an image"):
        inpaint_files(model, [image], str(tmp_path / "notes.png"), out)
    _write(tmp_path / "black.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(GankitError, match="no pixel missing"):
        inpaint_files(model, [image], str(tmp_path / "black.png"), out)
    (tmp_path / "masks").mkdir()
    with pytest.raises(GankitError, match="no mask for a"):
        inpaint_files(model, [image], str(tmp_path / "masks"), out)
    with pytest.raises(GankitError, match="overwrite an input"):
        _write(tmp_path / "src" / "b.png", np.zeros((16, 16), np.uint8))
        _write(tmp_path / "src" / "b-raw.png", np.zeros((16, 16), np.uint8))
        inpaint_files(model, [tmp_path / "src"], "center:0.3", tmp_path / "src")
    assert not out.exists()  # nothing written before the errors
