"""AnoGAN: "Unsupervised Anomaly Detection with Generative Adversarial Networks to
Guide Marker Discovery" (Schlegl et al. 2017).

A DCGAN is trained on normal images only. To score an image x, a latent z is
searched with Adam (the shared search of ``gankit.latent.search``) so that G(z) is the closest normal image: the loss is
(1 - lambda) * sum |x - G(z)| + lambda * sum |f(x) - f(G(z))| with f an
intermediate discriminator layer. The search runs on a whole batch at once:
the per-image losses are summed, so each z gets exactly its own gradient,
and Adam's updates are per element, so the result equals an image-by-image
search (at a fraction of the cost). Score = the final loss; map = |x - G(z)|.

    model = AnoGAN(AnoGANConfig(search_steps=500), data_shape=(1, 32, 32))
    out = model.anomaly_score(x)            # scores [N], maps [N, 1, 32, 32], reconstructions
    out = model.anomaly_score(x, generator=torch.Generator().manual_seed(0))   # fixed initial z
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.config import FRACTION, NON_NEGATIVE, POSITIVE, setting
from gankit.latent.search import SearchOptions, frozen, latent_search
from gankit.models.detector import AnomalyDetector, AnomalyOutput, DetectorConfig, residual_map
from gankit.models.gan.model import GAN, GANConfig


@dataclass
class AnoGANConfig(DetectorConfig, GANConfig):
    single_examples_because = "AnoGAN's latent search compares the discriminator's features of single images"

    search_steps: int = setting(500, NON_NEGATIVE)  # Adam steps of the latent search per test batch (the paper's Gamma)
    search_lr: float = setting(0.01, POSITIVE)
    weight_discrimination: float = setting(0.1, FRACTION)  # the paper's lambda


class AnoGAN(AnomalyDetector, GAN):
    Config = AnoGANConfig
    description = "AnoGAN (Schlegl 2017): DCGAN on normal data, batched latent search scores test images"

    def search_loss(self, x: Tensor, features_x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """Per-image loss [N] of latents z [N, latent] for images x, and G(z) [N, C, H, W]."""
        x_hat = self.generator(z)
        residual = (x - x_hat).abs().flatten(1).sum(1)  # [N]
        discrimination = (features_x - self.discriminator.features(x_hat)).abs().sum(1)  # [N]
        weight = self.config.weight_discrimination
        return (1 - weight) * residual + weight * discrimination, x_hat

    def latent_search(self, x: Tensor, z_init: Tensor, steps: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(z [N, latent], loss [N], G(z) [N, C, H, W]) after ``steps`` Adam steps from z_init."""
        steps = self.config.search_steps if steps is None else steps
        options = SearchOptions(steps=steps, lr=self.config.search_lr)
        with frozen(self):
            features_x = self.discriminator.features(x)  # [N, F], fixed during the search
            result = latent_search(lambda z, _: self.search_loss(x, features_x, z), lambda _: (z_init, []), options)
        return result.latent, result.loss, result.images

    def anomaly_score(self, x: Tensor, *, generator: torch.Generator | None = None) -> AnomalyOutput:
        """Score images x [N, C, H, W] by a latent search started at z ~ N(0, I)."""
        z_init = self.latent(x.shape[0], self.config.latent_dim, generator)
        _, loss, x_hat = self.latent_search(x, z_init)
        return AnomalyOutput(scores=loss, maps=residual_map(x, x_hat), reconstructions=x_hat)
