"""Adversarial loss terms shared by every variant, as small pure functions.

Discriminator outputs are raw logits (or critic values for Wasserstein
losses); nothing here applies a sigmoid first, because ``softplus`` on logits
is the numerically stable form of the log-likelihood terms.

    loss_d = discriminator_bce(d_real, d_fake)
    loss_g = generator_non_saturating(d_fake)
    loss_d = loss_d + 10 * gradient_penalty(critic, x_real, x_fake)
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_bce(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), Goodfellow et al. 2014."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_non_saturating(fake_logits: Tensor) -> Tensor:
    """-log D(G(z)): strong gradients while D still rejects the samples."""
    return F.softplus(-fake_logits).mean()


def generator_minimax(fake_logits: Tensor) -> Tensor:
    """log(1 - D(G(z))), the original minimax objective (saturates early)."""
    return -F.softplus(fake_logits).mean()


def discriminator_hinge(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye 2017; SNGAN's loss, Miyato et al. 2018):
    D stops pushing an example once it is judged beyond the margin; G's loss is then
    ``generator_wasserstein``, -D(G(z))."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def critic_wasserstein(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """E[f(G(z))] - E[f(x)]: minus the Wasserstein estimate."""
    return fake_scores.mean() - real_scores.mean()


def generator_wasserstein(fake_scores: Tensor) -> Tensor:
    return -fake_scores.mean()


def discriminator_least_squares(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """LSGAN (Mao et al. 2017) with targets 1 for real and 0 for fake."""
    return 0.5 * ((real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean())


def generator_least_squares(fake_scores: Tensor) -> Tensor:
    return 0.5 * (fake_scores - 1).pow(2).mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], x_real: Tensor, x_fake: Tensor
) -> Tensor:
    """(||grad_x f(x_hat)|| - 1)^2 on random interpolates, Gulrajani et al. 2017.

    Computed in fp32 even inside an autocast region: the double backward of a half-precision
    graph loses the small gradient norms the penalty is about."""
    critic = eager(critic)
    shape = [x_real.shape[0]] + [1] * (x_real.dim() - 1)
    with full_precision(x_real.device):
        alpha = torch.rand(shape, device=x_real.device, dtype=torch.float32)
        x_hat = (alpha * x_real.detach().float() + (1 - alpha) * x_fake.detach().float()).requires_grad_(True)
        scores = critic(x_hat)
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def full_precision(device: torch.device) -> Any:
    """Autocast switched off on ``device``; nothing to switch off on the meta device, which
    has no autocast and where ``gankit.footprint`` runs a step to measure its memory."""
    return nullcontext() if device.type == "meta" else torch.autocast(device.type, enabled=False)


def eager(network: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """The network behind a torch.compile wrapper (itself otherwise): compiled graphs cannot be
    differentiated twice, so the penalties run eagerly (under DDP, still through its wrapper)."""
    return getattr(network, "_orig_mod", network)


def r1_penalty(discriminator: Callable[[Tensor], Tensor], x_real: Tensor) -> Tensor:
    """||grad_x D(x)||^2 on real data (Mescheder et al. 2018), from its own fp32 forward pass
    (as StyleGAN2's separate regularisation phase), for the same reason as above."""
    discriminator = eager(discriminator)
    with full_precision(x_real.device):
        x = x_real.detach().float().requires_grad_(True)
        scores = discriminator(x)
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
        # + 0 x the scores: D's last bias has no part in the input gradient, and as its own update
        # (lazy R1) under DistributedDataParallel every parameter must receive a gradient (the
        # same term as StyleGAN2-ADA's loss adds, for the same reason).
        return grad.pow(2).flatten(1).sum(1).mean() + 0 * scores.sum()

