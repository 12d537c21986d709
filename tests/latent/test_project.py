"""Projection into every generator family: the search lowers the loss, leaves the model as it
was, is batched, and its latent files walk between real images."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.latent.project import latent_walk, load_latent, project, project_files, save_latent
from gankit.latent.search import SearchOptions, projector_options
from gankit.latent.space import latent_space
from tests.latent.conftest import GENERATORS, trained_like

CASES = [(name, "z") for name in GENERATORS] + [("stylegan", "w"), ("stylegan", "w+")]


@pytest.mark.parametrize("name,space", CASES)
def test_projection_lowers_the_loss_and_leaves_the_model_untouched(name, space):
    model = trained_like(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    start = project(model, x, space=space, options=projector_options(steps=0))
    end = project(model, x, space=space, options=projector_options(steps=8))
    assert end.images.shape == x.shape and end.loss.shape == (3,)
    assert end.loss.mean() < start.loss.mean()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name,space", CASES)
def test_every_space_treats_images_independently(name, space):
    """What makes a batched search equal an image-by-image one (the search itself is tested in
    test_search): generation, features and the realness prior of one image ignore the others."""
    model = trained_like(name)
    searched = latent_space(model, space)
    latent, noise = searched.start(3, torch.Generator().manual_seed(0), restart=1)
    images = searched.generate(latent, noise)
    alone = searched.generate(latent[1:2], [m[1:2] for m in noise])
    assert torch.allclose(images[1:2], alone, atol=1e-5)
    assert torch.allclose(searched.features(images)[1:2], searched.features(alone), atol=1e-5)
    assert torch.allclose(searched.unrealness(images, latent)[1:2], searched.unrealness(alone, latent[1:2]), atol=1e-5)


def test_restarts_never_do_worse():
    model = trained_like("gan")
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    one = project(model, x, options=SearchOptions(steps=5, lr=0.05, restarts=1))
    three = project(model, x, options=SearchOptions(steps=5, lr=0.05, restarts=3))
    assert torch.all(three.loss <= one.loss)


@pytest.mark.parametrize("name,space", [("stylegan", "w+"), ("gan", "z")])
def test_latent_files_round_trip_and_walk_between_projections(name, space, tmp_path):
    model = trained_like(name)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    result = project(model, x, space=space, options=projector_options(steps=3))
    files = [load_latent(save_latent(tmp_path / f"{i}.safetensors", result, i, model)) for i in range(2)]
    assert files[0].space == space and torch.equal(files[1].latent[0], result.latent[1])
    walk = latent_walk(model, files, steps=5)
    assert walk.shape == (5, 1, 16, 16)
    assert torch.allclose(walk[0], result.images[0], atol=1e-5)  # the walk starts at image 0's projection
    assert torch.allclose(walk[-1], result.images[1], atol=1e-5)  # and ends at image 1's


def test_project_files_writes_latents_images_and_a_summary(tmp_path):
    from PIL import Image

    model = trained_like("gan")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray((torch.rand(16, 16) * 255).byte().numpy()).save(folder / f"d{i}.png")
    rows = project_files(model, [folder], tmp_path / "out", batch_size=2, options=SearchOptions(steps=2))
    assert [r["image"] for r in rows] == [str(folder / f"d{i}.png") for i in range(3)]
    for suffix in (".safetensors", "-projection.png", "-pair.png"):
        assert (tmp_path / "out" / f"d1{suffix}").is_file()
    assert (tmp_path / "out" / "projection.csv").read_text().startswith("image,latent,space,loss,pixel_l1")


def test_what_cannot_be_projected_is_a_one_line_error(tmp_path):
    with pytest.raises(GankitError, match="no generator of a latent"):
        project(trained_like("cyclegan"), torch.zeros(1, 1, 16, 16))
    with pytest.raises(GankitError, match="needs a style-based generator"):
        project(trained_like("gan"), torch.zeros(1, 1, 16, 16), space="w")
    with pytest.raises(GankitError, match="unknown latent space"):
        project(trained_like("gan"), torch.zeros(1, 1, 16, 16), space="q")
    with pytest.raises(GankitError, match="expects images"):
        project(trained_like("gan"), torch.zeros(1, 3, 16, 16))
    (tmp_path / "junk.safetensors").write_text("not a tensor file")
    with pytest.raises(GankitError, match="not a safetensors latent"):
        load_latent(tmp_path / "junk.safetensors")


def test_a_gan_with_an_ema_generator_is_searched_through_it():
    from gankit.models.gan.model import GAN, GANConfig

    torch.manual_seed(0)
    model = GAN(GANConfig(latent_dim=8, g_width=8, d_width=8, ema_kimg=1.0), (1, 16, 16)).eval()
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.add_(0.1)  # the average differs from the live generator
    space = latent_space(model, "z")
    assert space.name == "z"
    z = torch.randn(2, 8)
    assert torch.equal(space.generate(z, []), model.generator_ema(z))


def test_a_walk_refuses_latents_of_another_space_or_generator(tmp_path):
    gan, style = trained_like("gan"), trained_like("stylegan")
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    z_file = save_latent(tmp_path / "z.safetensors", project(gan, x, options=SearchOptions(steps=0)), 0, gan)
    w_file = save_latent(tmp_path / "w.safetensors", project(style, x, space="w", options=SearchOptions(steps=0)), 0, style)
    with pytest.raises(GankitError, match="different spaces"):
        latent_walk(style, [load_latent(z_file), load_latent(w_file)], steps=3)
    bigger = trained_like("stylegan", (1, 32, 32))
    with pytest.raises(GankitError, match="does not fit this run"):
        latent_walk(bigger, [load_latent(w_file), load_latent(w_file)], steps=3)
