"""Update schedules and constraints of GAN, WGAN and WGAN-GP."""

import torch

from gankit.models.gan.model import GAN, GANConfig
from gankit.models.wgan.model import WGAN, WGANConfig
from gankit.models.wgan_gp.model import WGANGP, WGANGPConfig
from gankit.nn import losses

SHAPE = (2,)
SMALL = {"latent_dim": 4, "mlp_width": 8, "mlp_depth": 1}


def run(model, steps):
    model.optimizers = model.configure_optimizers()
    return [model.train_step((torch.randn(16, 2),), s) for s in range(steps)]


def test_gan_updates_generator_every_k_discriminator_steps():
    logs = run(GAN(GANConfig(d_steps=3, **SMALL), SHAPE), 9)
    assert ["loss_g" in row for row in logs] == [False, False, True] * 3
    assert all("loss_d" in row for row in logs)


def test_hinge_loss_trains_d_on_the_margin_and_g_on_minus_d(monkeypatch):
    model = GAN(GANConfig(loss="hinge", **SMALL), SHAPE)
    calls = []
    for name in ("discriminator_hinge", "generator_wasserstein"):
        original = getattr(losses, name)
        monkeypatch.setattr(losses, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    logs = run(model, 2)
    assert calls == ["discriminator_hinge", "generator_wasserstein"] * 2
    assert all(0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1 for row in logs)


def test_wgan_clips_weights_and_follows_the_reference_schedule():
    config = WGANConfig(clip=0.05, critic_steps=2, warmup_critic_steps=4, warmup_generator_steps=1, warmup_every=3, **SMALL)
    model = WGAN(config, SHAPE)
    logs = run(model, 4 + 2 + 2 + 4)
    # 4 warm-up critic steps for generator step 0, then 2, 2, then 4 again at generator step 3.
    assert [i for i, row in enumerate(logs) if "loss_g" in row] == [3, 5, 7, 11]
    assert all(p.abs().max() <= 0.05 + 1e-7 for p in model.discriminator.parameters())
    assert all("wasserstein" in row for row in logs)
    assert isinstance(model.optimizers["d"], torch.optim.RMSprop)


def test_wgan_can_train_its_clipped_critic_with_adam():
    model = WGAN(WGANConfig(optimizer="adam", clip=0.05, **SMALL), SHAPE)
    run(model, 2)
    assert all(isinstance(model.optimizers[name], torch.optim.Adam) for name in ("g", "d"))
    assert model.optimizers["d"].defaults["betas"] == (0.5, 0.999)
    assert all(p.abs().max() <= 0.05 + 1e-7 for p in model.discriminator.parameters())


def test_wgan_gp_has_no_clipping_or_batch_norm_and_logs_penalty():
    model = WGANGP(WGANGPConfig(critic_steps=2, **SMALL), (1, 16, 16))
    model.optimizers = model.configure_optimizers()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    with torch.no_grad():
        for p in model.discriminator.parameters():
            p.mul_(100)
    row = model.train_step((torch.randn(4, 1, 16, 16),), 0)
    assert "gradient_penalty" in row
    assert max(p.abs().max() for p in model.discriminator.parameters()) > 0.5
    assert model.optimizers["d"].defaults["betas"] == (0.0, 0.9)


def test_update_counters_travel_in_state_dict():
    model = WGAN(WGANConfig(critic_steps=1, warmup_critic_steps=1, **SMALL), SHAPE)
    run(model, 3)
    assert int(model.state_dict()["generator_updates"]) == 3


IMAGE = (1, 16, 16)
IMAGE_SMALL = {"latent_dim": 4, "g_width": 4, "d_width": 4}


def test_spectral_norm_keeps_every_discriminator_layer_near_one():
    model = GAN(GANConfig(d_norm="spectral", **IMAGE_SMALL), IMAGE)
    run_images(model, 3)
    model.eval()
    for layer in model.discriminator.modules():
        if isinstance(layer, torch.nn.Conv2d):
            weight = layer.weight.flatten(1)
            assert torch.linalg.matrix_norm(weight, ord=2) < 1.05
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())


def test_augmentation_reaches_every_discriminator_input(monkeypatch):
    for model in [GAN(GANConfig(augment="translation,cutout", **IMAGE_SMALL), IMAGE),
                  WGANGP(WGANGPConfig(augment="translation,cutout", critic_steps=1, **IMAGE_SMALL), IMAGE)]:
        seen = []
        original = model.augment.__call__
        monkeypatch.setattr(type(model.augment), "__call__", lambda self, x: seen.append(x.shape) or original(x))
        run_images(model, 1)
        monkeypatch.undo()
        assert len(seen) == 3  # real and fake for D, fake for G


def test_augmentation_of_points_is_refused():
    import pytest
    from gankit.errors import GankitError

    with pytest.raises(GankitError, match="model.augment transforms images"):
        GAN(GANConfig(augment="cutout", **SMALL), SHAPE)


def test_ema_generator_follows_and_samples_and_travels_in_checkpoints():
    model = GAN(GANConfig(ema_kimg=0.01, **IMAGE_SMALL), IMAGE)
    before = [p.clone() for p in model.generator_ema.parameters()]
    run_images(model, 2)
    assert int(model.images_seen) == 8
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator_ema.parameters()))
    assert all(p.grad is None for p in model.generator_ema.parameters())
    state = model.state_dict()
    assert "images_seen" in state and any(k.startswith("generator_ema.") for k in state)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.fill_(float("nan"))  # sampling must not touch the live generator
    assert torch.isfinite(model.sample(3)).all()
    # Without an EMA the keys are those of older checkpoints.
    assert not any("ema" in k or k == "images_seen" for k in GAN(GANConfig(**IMAGE_SMALL), IMAGE).state_dict())


def run_images(model, steps):
    model.optimizers = model.configure_optimizers()
    return [model.train_step((torch.rand(4, *IMAGE) * 2 - 1,), s) for s in range(steps)]


def test_cnn_networks_add_3x3_convolutions_and_keep_shapes():
    from gankit.models.gan.model import build_networks

    config = GANConfig(network="cnn", d_norm="spectral", **IMAGE_SMALL)
    for shape in [(1, 16, 16), (3, 28, 28), (1, 32, 32)]:
        generator, discriminator = build_networks(config, shape)
        x = generator(torch.randn(2, 4))
        assert x.shape == (2, *shape)
        assert discriminator(x).shape == (2,)
        kernels = [m.kernel_size for m in discriminator.trunk if isinstance(m, torch.nn.Conv2d)]
        assert kernels.count((3, 3)) == kernels.count((4, 4)) + 1
