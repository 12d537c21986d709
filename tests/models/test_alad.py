"""ALAD: its three discriminators train, the score is D_xx's feature distance, G(E(x)) is the preview."""

import torch

from gankit.models.alad.model import ALAD, ALADConfig
from tests.conftest import tiny_settings

SHAPE = (1, 16, 16)


def tiny(**changes):
    torch.manual_seed(0)
    model = ALAD(ALADConfig(**{**tiny_settings("alad"), **changes}), SHAPE)
    model.prepare_training()
    return model


def test_every_discriminator_is_updated_and_the_latent_cycle_can_be_switched_off():
    x = torch.rand(8, *SHAPE) * 2 - 1
    for latent_cycle in (True, False):
        model = tiny(latent_cycle=latent_cycle)
        before = {name: [p.detach().clone() for p in getattr(model, name).parameters()]
                  for name in ("generator", "encoder", "discriminator_xz", "discriminator_xx", "discriminator_zz")}
        logs = model.train_step((x, torch.zeros(8, dtype=torch.long)), 0)
        assert {"loss_d", "loss_xx", "loss_ge", "loss_cycle"} <= set(logs)
        changed = {name: any(not torch.equal(a, b) for a, b in zip(params, getattr(model, name).parameters()))
                   for name, params in before.items()}
        assert changed == {**{name: True for name in before}, "discriminator_zz": latent_cycle}


def test_score_is_the_feature_distance_of_x_and_its_reconstruction_in_d_xx():
    model = tiny()
    x = torch.rand(4, *SHAPE) * 2 - 1
    out = model.anomaly_score(x)
    with torch.no_grad():
        model.eval()
        x_hat = model.generator(model.encoder(x))
        expected = (model.discriminator_xx(x, x)[1] - model.discriminator_xx(x, x_hat)[1]).abs().sum(1)
    assert torch.allclose(out.scores, expected) and out.scores.shape == (4,)
    assert out.maps.shape == (4, 1, 16, 16) and torch.allclose(out.reconstructions, x_hat)


def test_preview_shows_images_beside_their_reconstructions():
    model = tiny()
    x = torch.rand(8, *SHAPE) * 2 - 1
    model.observe_batch((x, None))
    grid = model.preview(8, torch.Generator().manual_seed(0))
    assert grid.shape == (8, *SHAPE) and torch.equal(grid[0], x[0])
