import math

import torch

from gankit.nn import losses


def test_bce_terms_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d = torch.sigmoid
    expected_d = -(torch.log(d(real)).mean() + torch.log(1 - d(fake)).mean())
    assert torch.allclose(losses.discriminator_bce(real, fake), expected_d, atol=1e-6)
    assert torch.allclose(losses.generator_non_saturating(fake), -torch.log(d(fake)).mean(), atol=1e-6)
    assert torch.allclose(losses.generator_minimax(fake), torch.log(1 - d(fake)).mean(), atol=1e-6)


def test_minimax_saturates_where_non_saturating_does_not():
    # When D confidently rejects fakes (logit -10), log(1 - D) has almost no gradient.
    logits = torch.tensor([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(losses.generator_minimax(logits), logits)
    (g_ns,) = torch.autograd.grad(losses.generator_non_saturating(logits), logits)
    assert abs(g_minimax.item()) < 1e-4 < 0.9 < abs(g_ns.item())


def test_hinge_stops_pushing_examples_beyond_the_margin():
    real = torch.tensor([2.0, 0.5], requires_grad=True)  # the first is beyond the margin of 1
    fake = torch.tensor([-3.0, 0.0], requires_grad=True)  # so is the first here (below -1)
    loss = losses.discriminator_hinge(real, fake)
    assert torch.isclose(loss, torch.tensor((0.0 + 0.5) / 2 + (0.0 + 1.0) / 2))
    grad_real, grad_fake = torch.autograd.grad(loss, (real, fake))
    assert grad_real.tolist() == [0.0, -0.5] and grad_fake.tolist() == [0.0, 0.5]


def test_wasserstein_and_least_squares():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    assert losses.critic_wasserstein(real, fake).item() == -3.0
    assert losses.generator_wasserstein(fake).item() == 1.0
    assert math.isclose(losses.discriminator_least_squares(real, fake).item(), 0.5 * (2.0 + 2.0))
    assert math.isclose(losses.generator_least_squares(fake).item(), 0.5 * (1 + 9) / 2)


def test_gradient_penalty_of_a_unit_slope_critic_is_zero():
    w = torch.tensor([0.6, 0.8])  # ||w|| = 1, so ||grad|| = 1 everywhere
    critic = lambda x: x @ w  # noqa: E731
    x_real, x_fake = torch.randn(16, 2), torch.randn(16, 2)
    assert losses.gradient_penalty(critic, x_real, x_fake).item() < 1e-10
    steep = lambda x: 3 * (x @ w)  # noqa: E731
    assert math.isclose(losses.gradient_penalty(steep, x_real, x_fake).item(), 4.0, rel_tol=1e-5)


def test_r1_penalty():
    x = torch.randn(5, 3)
    assert math.isclose(losses.r1_penalty(lambda x: (2 * x).sum(1), x).item(), 12.0, rel_tol=1e-6)


def test_penalties_stay_fp32_under_bf16_autocast():
    critic = torch.nn.Linear(3, 1)
    x_real, x_fake = torch.randn(4, 3), torch.randn(4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(x_real).dtype == torch.bfloat16  # autocast is really on here
        gp = losses.gradient_penalty(critic, x_real, x_fake)
        r1 = losses.r1_penalty(critic, x_real)
    assert gp.dtype == r1.dtype == torch.float32
    expected = (critic.weight.norm() - 1).pow(2)
    assert torch.allclose(gp, expected, rtol=1e-5)
    assert torch.allclose(r1, critic.weight.pow(2).sum(), rtol=1e-5)
