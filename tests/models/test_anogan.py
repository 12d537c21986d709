"""AnoGAN's latent search: batched equals image by image, parameters stay frozen."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.models.anogan.model import AnoGAN, AnoGANConfig


def tiny(**extra):
    torch.manual_seed(0)
    return AnoGAN(AnoGANConfig(latent_dim=8, g_width=8, d_width=8, search_steps=15, **extra), (1, 16, 16))


def test_batched_search_equals_image_by_image():
    model = tiny()
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    z_init = torch.randn(6, 8)
    z, loss, x_hat = model.latent_search(x, z_init)
    for i in range(6):
        z_i, loss_i, x_hat_i = model.latent_search(x[i : i + 1], z_init[i : i + 1])
        assert torch.allclose(z[i], z_i[0], atol=1e-5)
        assert torch.allclose(loss[i], loss_i[0], rtol=1e-5)
        assert torch.allclose(x_hat[i], x_hat_i[0], atol=1e-5)


def test_search_lowers_the_loss_and_leaves_the_model_untouched():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    z_init = torch.randn(4, 8)
    start = model.latent_search(x, z_init, steps=0)[1]
    end = model.latent_search(x, z_init)[1]
    assert torch.all(end < start)
    assert model.training and all(p.requires_grad and p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN statistics too


def test_score_is_the_weighted_loss_and_map_the_residual():
    model = tiny(weight_discrimination=0.0)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    out = model.anomaly_score(x, generator=torch.Generator().manual_seed(0))
    residual = (x - out.reconstructions).abs()
    assert torch.allclose(out.scores, residual.flatten(1).sum(1), rtol=1e-5)
    assert torch.allclose(out.maps, residual.mean(1, keepdim=True))


def test_bad_settings_are_one_line_errors():
    with pytest.raises(GankitError, match="weight_discrimination"):
        AnoGANConfig(weight_discrimination=2.0)
    with pytest.raises(GankitError, match="threshold_quantile"):
        AnoGANConfig(threshold_quantile=1.0)
