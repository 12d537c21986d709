"""Style-mixing grid, noise figure and interpolations of a tiny StyleGAN."""

import pytest
import torch
from PIL import Image

from gankit.errors import GankitError
from gankit.models.gan.model import GAN, GANConfig
from gankit.models.stylegan.model import StyleGAN, StyleGANConfig
from gankit.report.style import (
    interpolate,
    interpolation_frames,
    interpolation_grid,
    latents,
    noise_figure,
    parse_layers,
    save_gif,
    style_mixing_grid,
)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = StyleGAN(StyleGANConfig(latent_dim=8, w_dim=8, mapping_depth=2, g_width=4, max_width=8), (1, 16, 16))
    with torch.no_grad():  # an untrained model ignores noise (B = 0) and barely reads w
        for p in model.generator_ema.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return model.eval()


def test_layer_bands_follow_the_paper(model):
    assert parse_layers("coarse", model) == range(0, 4)  # 4 and 8 px
    assert parse_layers("middle", model) == range(4, 6)  # 16 px (32 px does not exist here)
    assert parse_layers("2-3", model) == range(2, 4) and parse_layers("5", model) == range(5, 6)
    with pytest.raises(GankitError, match="no fine layers"):
        parse_layers("fine", model)
    for bad in ("0-6", "3-1", "top"):
        with pytest.raises(GankitError):
            parse_layers(bad, model)


def test_style_mixing_grid_copies_the_source_styles_of_the_band(model):
    images, nrow = style_mixing_grid(model, rows=[1, 2], cols=[3, 4, 5], layers="coarse")
    assert nrow == 4 and images.shape == (12, 1, 16, 16)
    assert torch.equal(images[0], torch.ones(1, 16, 16))  # the blank corner
    source, destination = model.styles(latents(model, [2])), model.styles(latents(model, [4]))
    mixed = torch.cat([source[:, :4], destination[:, 4:]], dim=1)
    noise = model.make_noise(1, torch.Generator().manual_seed(0), shared=True)
    cell = images[2 * 4 + 2]  # row of seed 2, column of seed 4
    assert torch.allclose(cell, model.synthesize(mixed, noise)[0], atol=1e-5)
    assert torch.allclose(images[2], model.synthesize(destination, noise)[0], atol=1e-5)


def test_noise_figure_layout_and_std(model):
    images, nrow = noise_figure(model, [0, 1], draws=6, show=3)
    assert nrow == 5 and images.shape == (10, 1, 16, 16)
    stds = images[[4, 9]]
    assert stds.min() >= -1 and stds.max() == pytest.approx(1.0)  # scaled to the figure's largest std
    assert not torch.equal(images[0], images[1])  # different noise, same w
    with pytest.raises(GankitError):
        noise_figure(model, [0], draws=1)


@pytest.mark.parametrize("space", ["z", "w"])
def test_interpolation_starts_and_ends_at_the_seeds(model, space):
    ws = interpolate(model, 3, 7, space, steps=5)
    assert ws.shape == (5, model.num_layers, 8)
    ends = model.styles(latents(model, [3, 7])).cpu()
    assert torch.allclose(ws[0], ends[0], atol=1e-4) and torch.allclose(ws[-1], ends[1], atol=1e-4)
    images, nrow = interpolation_grid(model, [0, 1, 2], space, steps=4)
    assert nrow == 4 and images.shape == (8, 1, 16, 16)


def test_gif_loops_through_the_seeds(model, tmp_path):
    frames = interpolation_frames(model, [0, 1, 2], "w", steps=4)
    assert frames.shape == (12, 1, 16, 16)
    path = save_gif(frames, tmp_path / "walk.gif", scale=2)
    gif = Image.open(path)
    assert gif.n_frames == 12 and gif.size == (32, 32)


def test_figures_refuse_models_without_styles():
    gan = GAN(GANConfig(latent_dim=4, g_width=4, d_width=4), (1, 16, 16))
    with pytest.raises(GankitError, match="style-based"):
        style_mixing_grid(gan, [0], [1], "coarse")
