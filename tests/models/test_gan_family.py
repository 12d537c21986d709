"""Update schedules and constraints of GAN, WGAN and WGAN-GP."""

import torch

from gankit.models.gan.model import GAN, GANConfig
from gankit.models.wgan.model import WGAN, WGANConfig
from gankit.models.wgan_gp.model import WGANGP, WGANGPConfig

SHAPE = (2,)
SMALL = {"latent_dim": 4, "mlp_width": 8, "mlp_depth": 1}


def run(model, steps):
    model.optimizers = model.configure_optimizers()
    return [model.train_step((torch.randn(16, 2),), s) for s in range(steps)]


def test_gan_updates_generator_every_k_discriminator_steps():
    logs = run(GAN(GANConfig(d_steps=3, **SMALL), SHAPE), 9)
    assert ["loss_g" in row for row in logs] == [False, False, True] * 3
    assert all("loss_d" in row for row in logs)


def test_wgan_clips_weights_and_follows_the_reference_schedule():
    config = WGANConfig(clip=0.05, critic_steps=2, warmup_critic_steps=4, warmup_generator_steps=1, warmup_every=3, **SMALL)
    model = WGAN(config, SHAPE)
    logs = run(model, 4 + 2 + 2 + 4)
    # 4 warm-up critic steps for generator step 0, then 2, 2, then 4 again at generator step 3.
    assert [i for i, row in enumerate(logs) if "loss_g" in row] == [3, 5, 7, 11]
    assert all(p.abs().max() <= 0.05 + 1e-7 for p in model.discriminator.parameters())
    assert all("wasserstein" in row for row in logs)
    assert isinstance(model.optimizers["d"], torch.optim.RMSprop)


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
