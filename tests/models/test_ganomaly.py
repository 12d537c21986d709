"""GANomaly: the score is the latent distance, the map the reconstruction residual."""

import torch

from gankit.models.ganomaly.model import GANomaly, GANomalyConfig


def test_score_and_map():
    torch.manual_seed(0)
    model = GANomaly(GANomalyConfig(latent_dim=8, g_width=8, d_width=8), (1, 16, 16))
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    out = model.anomaly_score(x)
    model.eval()
    x_hat, z, z_hat = model.generator(x)
    assert torch.allclose(out.scores, (z - z_hat).pow(2).mean(1))
    assert torch.allclose(out.maps, (x - x_hat).abs().mean(1, keepdim=True))
    assert "sample" not in GANomaly.capabilities()  # an autoencoder has no generator of z


def test_discriminator_is_reset_when_its_loss_collapses():
    torch.manual_seed(0)
    model = GANomaly(GANomalyConfig(latent_dim=8, g_width=8, d_width=8, reinit_d_below=1e9), (1, 16, 16))
    model.optimizers = model.configure_optimizers()
    model.train_step((torch.rand(4, 1, 16, 16) * 2 - 1,), 0)
    assert int(model.discriminator_resets) == 1
