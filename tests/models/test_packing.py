"""PacGAN's packing (model.pack) in GAN, WGAN and WGAN-GP: the packs, the discriminator built for
them, the gradient penalty between packs, augmentation per example, training and the refusals."""

import json

import pytest
import torch

from gankit import api
from gankit.errors import GankitError
from gankit.models.gan.model import GAN, GANConfig
from gankit.models.wgan_gp.model import WGANGP, WGANGPConfig
from gankit.nn.packing import pack, packed_shape
from tests.conftest import TINY_TRAIN, tiny_overrides, tiny_settings

POINTS = {"latent_dim": 4, "mlp_width": 8, "mlp_depth": 1}
IMAGES = {"latent_dim": 4, "g_width": 4, "d_width": 4}


def first_layer(network):
    return next(m for m in network.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))


def test_a_pack_puts_consecutive_examples_side_by_side_along_the_feature_axis():
    points = torch.arange(12.0).view(6, 2)
    assert pack(points, 1) is points
    assert pack(points, 2).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert pack(points, 3).shape == (2, 6)
    images = torch.randn(4, 3, 8, 8)
    packs = pack(images, 2)  # [2, 6, 8, 8]: channels of examples 0 and 1, then of 2 and 3
    assert packs.shape == (2, 6, 8, 8) == (2, *packed_shape((3, 8, 8), 2))
    assert torch.equal(packs[1, :3], images[2]) and torch.equal(packs[1, 3:], images[3])
    nhwc = images.contiguous(memory_format=torch.channels_last)
    assert pack(nhwc, 2).is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(pack(nhwc, 2), packs)


def test_a_batch_that_the_pack_does_not_divide_is_refused():
    with pytest.raises(GankitError, match="a batch of 5 examples does not split into packs of 2"):
        pack(torch.randn(5, 2), 2)
    with pytest.raises(GankitError, match="train.batch_size 64 is not a multiple of model.pack 3.*batch_size=63"):
        api.make_config("wgan_gp", data="toy:ring8", overrides=["model.pack=3"])
    config = api.make_config("gan", data="toy:ring8", overrides=["model.pack=4", "train.batch_size=12"])
    assert (config.model.pack, config.train.batch_size) == (4, 12)


def test_the_discriminator_is_built_for_packs_and_the_generator_for_examples():
    points = GAN(GANConfig(pack=3, **POINTS), (2,))
    assert first_layer(points.discriminator).in_features == 6
    assert points.sample(5).shape == (5, 2)
    images = GAN(GANConfig(pack=2, **IMAGES), (1, 16, 16))
    assert first_layer(images.discriminator).in_channels == 2
    assert images.sample(3).shape == (3, 1, 16, 16)


def test_the_gradient_penalty_interpolates_between_a_real_pack_and_a_fake_pack():
    model = WGANGP(WGANGPConfig(pack=2, critic_steps=1, **POINTS), (2,))
    model.prepare_training()
    seen = []
    model.discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    model.train_step((torch.randn(8, 2),), 0)
    real, fake, interpolates = seen[:3]  # D(real packs), D(fake packs), then the penalty's critic call
    assert real.shape == fake.shape == interpolates.shape == (4, 4)
    # One alpha per pack: x_hat = alpha * real + (1 - alpha) * fake in all four coordinates of a pack.
    alpha = (interpolates - fake) / (real - fake)  # [4 packs, 4 coordinates]
    assert torch.allclose(alpha, alpha[:, :1].expand_as(alpha), atol=1e-4)
    assert ((alpha >= 0) & (alpha <= 1)).all() and alpha[:, 0].unique().numel() == 4


def test_augmentation_transforms_each_example_before_packing(monkeypatch):
    model = GAN(GANConfig(pack=2, augment="translation,cutout", **IMAGES), (1, 16, 16))
    model.prepare_training()
    augmented, judged = [], []
    original = model.augment.__call__
    monkeypatch.setattr(type(model.augment), "__call__", lambda self, x: augmented.append(x.shape) or original(x))
    model.discriminator.register_forward_pre_hook(lambda module, args: judged.append(args[0].shape))
    model.train_step((torch.rand(4, 1, 16, 16) * 2 - 1,), 0)
    assert augmented == [(4, 1, 16, 16)] * 3  # real and fake for D, fake for G: single examples
    assert judged == [(2, 2, 16, 16)] * 3


@pytest.mark.parametrize("name", ["gan", "wgan", "wgan_gp"])
def test_packed_variants_train_on_the_ring_and_load_and_sample(name, tmp_path):
    overrides = tiny_overrides(**{"model.pack": 2, "train.eval_samples": 100})
    if name == "wgan":
        overrides.append("model.warmup_critic_steps=2")
    result = api.train(name, data="toy:ring8", steps=4, out=tmp_path / name, overrides=overrides, progress=False)
    model = api.load(result.run_dir)
    assert model.config.pack == 2
    assert first_layer(model.discriminator).in_features == 4
    assert model.sample(10).shape == (10, 2)
    rows = [row for row in (tmp_path / name / "metrics.jsonl").read_text().splitlines() if '"train"' in row]
    assert rows  # logged every 2 steps
    if name == "gan":
        logged = json.loads(rows[-1])  # mean D over packs: a probability
        assert 0 < logged["d_real"] < 1 and 0 < logged["d_fake"] < 1
        # A resumed run may change train.* settings, but not into a batch the packs do not divide.
        with pytest.raises(GankitError, match="train.batch_size 15 is not a multiple of model.pack 2"):
            api.resume(result.run_dir, steps=6, overrides=["train.batch_size=15"])


def test_detectors_that_score_single_images_by_discriminator_features_refuse_packing():
    for name, reason in [("anogan", "AnoGAN's latent search"), ("fanogan", "f-AnoGAN's encoder")]:
        with pytest.raises(GankitError, match=f"model.pack must be 1 here: {reason}"):
            api.make_config(name, overrides=["model.pack=2"])


def test_latent_tools_refuse_discriminator_features_of_a_packed_run(tmp_path):
    from gankit.latent.inpaint import inpaint
    from gankit.latent.project import project
    from gankit.latent.search import SearchOptions

    overrides = [f"model.{k}={v}" for k, v in tiny_settings("gan").items()] + TINY_TRAIN + [
        "model.pack=2", "train.eval_metrics=[]", "data.image_size=16"]
    result = api.train("gan", data="digits", steps=2, out=tmp_path / "run", overrides=overrides, progress=False)
    model = api.load(result.run_dir)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    options = SearchOptions(steps=2, lr=0.01)
    with pytest.raises(GankitError, match=r"judges packs of 2 examples \(model.pack=2\).*--feature-weight 0"):
        project(model, x, options=options)
    assert project(model, x, feature_weight=0, options=options).latent.shape == (2, 8)
    hole = torch.zeros(2, 1, 16, 16, dtype=torch.bool)
    hole[:, :, 4:12, 4:12] = True
    with pytest.raises(GankitError, match="cannot judge one image.*--prior-weight 0"):
        inpaint(model, x, hole, options=options)
    assert inpaint(model, x, hole, prior_weight=0, blend="alpha", options=options).filled.shape == x.shape
