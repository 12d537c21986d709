"""f-AnoGAN's two stages are chosen by the step counter; the score is the izif distance."""

import pytest
import torch

from gankit.models.fanogan.loss import encoder_loss, izif_distance
from gankit.models.fanogan.model import FAnoGAN, FAnoGANConfig


def tiny(training="izif"):
    torch.manual_seed(0)
    config = FAnoGANConfig(latent_dim=8, g_width=8, d_width=8, gan_steps=2, encoder_steps=2, critic_steps=1,
                           encoder_training=training)
    model = FAnoGAN(config, (1, 16, 16))
    model.optimizers = model.configure_optimizers()
    return model


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("training", ["izif", "izi", "ziz"])
def test_stage_one_trains_the_gan_stage_two_only_the_encoder(training):
    model = tiny(training)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    g, d, e = snapshot(model.generator), snapshot(model.discriminator), snapshot(model.encoder)
    for step in range(2):
        assert model.train_step((x,), step)["stage"] == 1.0
    assert changed(g, model.generator) and changed(d, model.discriminator) and not changed(e, model.encoder)
    g, d = snapshot(model.generator), snapshot(model.discriminator)
    bn = [b.clone() for b in model.generator.buffers()]
    for step in range(2, 4):
        assert model.train_step((x,), step)["stage"] == 2.0
    assert changed(e, model.encoder) and not changed(g, model.generator) and not changed(d, model.discriminator)
    assert all(torch.equal(a, b) for a, b in zip(bn, model.generator.buffers()))  # G's batch norm frozen too
    assert model.train_step((x,), 4) == {} and int(model.encoder_updates) == 2


def test_score_is_image_mse_plus_kappa_feature_mse():
    model = tiny()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    out = model.anomaly_score(x)
    x_hat = out.reconstructions
    features = (model.discriminator.features(x) - model.discriminator.features(x_hat)).pow(2).mean(1)
    expected = (x - x_hat).pow(2).flatten(1).mean(1) + features
    assert torch.allclose(out.scores, expected, rtol=1e-5)
    assert torch.allclose(izif_distance(model.discriminator, x, x_hat, 0.0), (x - x_hat).pow(2).flatten(1).mean(1))
    z = torch.randn(3, 8)
    assert encoder_loss("izi", model.encoder, model.generator, model.discriminator, x, z, 1.0) > 0
