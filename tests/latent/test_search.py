"""The shared latent search: AnoGAN's scores are those of its own former loop, the schedule
is StyleGAN2's projector's, restarts keep each image's best, batches equal single images."""

import math

import pytest
import torch
from torch.optim import Adam

from gankit.errors import GankitError
from gankit.latent.search import SearchOptions, latent_search, noise_penalty
from gankit.models.anogan.model import AnoGAN, AnoGANConfig


def former_anogan_search(model: AnoGAN, x, z_init, steps):
    """AnoGAN's latent search as it was before the shared search existed (commit 21dc3ac), kept
    verbatim as the reference its scores must not move from."""
    model.eval().requires_grad_(False)
    features_x = model.discriminator.features(x)
    z = z_init.detach().clone().requires_grad_(True)
    optimizer = Adam([z], lr=model.config.search_lr)
    with torch.enable_grad():
        for _ in range(steps):
            loss, _ = model.search_loss(x, features_x, z)
            (z.grad,) = torch.autograd.grad(loss.sum(), z)
            optimizer.step()
    with torch.no_grad():
        loss, x_hat = model.search_loss(x, features_x, z)
    model.train().requires_grad_(True)
    return z.detach(), loss, x_hat


def test_anogan_scores_are_unchanged_by_the_shared_search():
    torch.manual_seed(0)
    model = AnoGAN(AnoGANConfig(latent_dim=8, g_width=8, d_width=8, search_steps=25), (1, 16, 16))
    x = torch.rand(5, 1, 16, 16) * 2 - 1
    z_init = torch.randn(5, 8)
    expected = former_anogan_search(model, x, z_init, 25)
    actual = model.latent_search(x, z_init)
    for old, new in zip(expected, actual):
        assert torch.equal(old, new)  # bit for bit
    out = model.anomaly_score(x, generator=torch.Generator().manual_seed(3))
    z_seeded = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out.scores, former_anogan_search(model, x, z_seeded, 25)[1])


def test_learning_rate_ramps_up_then_down_along_a_cosine():
    options = SearchOptions(steps=100, lr=0.1, lr_rampup=0.05, lr_rampdown=0.25)
    assert options.rate(0) == 0.0
    assert options.rate(1) == pytest.approx(0.1 / 5)
    assert options.rate(50) == pytest.approx(0.1)
    assert options.rate(75) == pytest.approx(0.1)
    assert options.rate(90) == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(math.pi * 0.4)))
    assert SearchOptions(steps=10, lr=0.1).rate(7) == 0.1  # no ramps: constant


def quadratic(target):
    """Loss |z - target|^2 per row; the 'images' are z itself."""
    return lambda z, noise: ((z - target).square().sum(1), z)


def test_restarts_keep_each_images_best():
    target = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    starts = [torch.tensor([[1.0, 1.0], [5.0, 5.0]]), torch.tensor([[9.0, 9.0], [-1.0, -1.0]])]
    result = latent_search(quadratic(target), lambda r: (starts[r], []), SearchOptions(steps=0, restarts=2))
    assert torch.equal(result.restart, torch.tensor([0, 1]))
    assert torch.equal(result.latent, target) and torch.equal(result.loss, torch.zeros(2))


def test_batched_search_with_noise_equals_one_image_at_a_time():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(3, 4, generator=generator)
    z0, noise0 = torch.randn(3, 4, generator=generator), [torch.randn(3, 1, 16, 16, generator=generator)]

    def objective(z, noise):
        return (z - target[: z.shape[0]]).abs().sum(1) + noise[0].mean((1, 2, 3)), z

    options = SearchOptions(steps=12, lr=0.05, lr_rampup=0.1, lr_rampdown=0.3, noise_regularization=10.0)
    batched = latent_search(objective, lambda r: (z0, noise0), options)
    for i in range(3):
        target_i = target[i : i + 1]
        single = latent_search(lambda z, n: ((z - target_i).abs().sum(1) + n[0].mean((1, 2, 3)), z),
                               lambda r: (z0[i : i + 1], [noise0[0][i : i + 1]]), options)
        assert torch.allclose(batched.latent[i], single.latent[0], atol=1e-6)
        assert torch.allclose(batched.noise[0][i], single.noise[0][0], atol=1e-6)
    # the maps stay normalised per image
    assert torch.allclose(batched.noise[0].mean((1, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(batched.noise[0].square().mean((1, 2, 3)), torch.ones(3), atol=1e-4)


def test_noise_penalty_is_zero_for_white_noise_and_large_for_smooth_maps():
    white = torch.randn(2, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    smooth = torch.ones(2, 1, 64, 64)
    assert noise_penalty([white]).max() < 1e-3
    assert noise_penalty([smooth]).min() > 1.0


def test_bad_options_are_one_line_errors():
    with pytest.raises(GankitError, match="restarts"):
        SearchOptions(restarts=0)
    with pytest.raises(GankitError, match="lr_rampdown"):
        SearchOptions(lr_rampdown=2)
