"""EGBAD: "Efficient GAN-Based Anomaly Detection" (Zenati et al. 2018).

A BiGAN: an encoder E learns the inverse of the generator G, because a joint
discriminator D(x, z) must not tell pairs (x, E(x)) of real images from
pairs (G(z), z) of generated ones. Scoring needs one pass instead of
AnoGAN's search: A(x) = alpha * |x - G(E(x))|_1 + (1 - alpha) * L_D(x), with
L_D the L1 distance of D's joint features of (x, E(x)) and (G(E(x)), E(x))
("feature_matching", the paper's default) or the cross-entropy of D calling
(x, E(x)) real ("cross_entropy"). Map = |x - G(E(x))|.

    model = EGBAD(EGBADConfig(alpha=0.9), data_shape=(1, 32, 32))
    model.prepare_training()
    logs = model.train_step((x, y), step=0); out = model.anomaly_score(x)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.capabilities import Reconstructor
from gankit.config import BETAS, FRACTION, POSITIVE, setting
from gankit.models.base import GaussianLatent
from gankit.models.detector import AnomalyDetector, AnomalyOutput, DetectorConfig, residual_map
from gankit.models.egbad.networks import JointDiscriminator
from gankit.models.gan.model import NetworkConfig
from gankit.models.gan.networks import DCGANDiscriminator, DCGANGenerator
from gankit.nn import losses


@dataclass
class EGBADConfig(DetectorConfig, NetworkConfig):
    joint_width: int = setting(512, POSITIVE)  # D's latent branch and joint layer
    lr: float = setting(2e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)
    alpha: float = setting(0.9, FRACTION)  # weight of the reconstruction term in the score
    score_discrimination: Literal["feature_matching", "cross_entropy"] = "feature_matching"


class EGBAD(AnomalyDetector, GaussianLatent, Reconstructor):
    Config = EGBADConfig
    description = "EGBAD (Zenati 2018): BiGAN encoder + joint discriminator, one-pass anomaly scores"

    def __init__(self, config: EGBADConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        self.generator = DCGANGenerator(config.latent_dim, data_shape, config.g_width, norm=config.g_norm)
        self.encoder = DCGANDiscriminator(data_shape, config.d_width, norm=config.d_norm, out_features=config.latent_dim)
        self.discriminator = JointDiscriminator(data_shape, config.latent_dim, config.d_width, config.joint_width, config.d_norm)

    def configure_optimizers(self) -> dict[str, Optimizer]:
        generator_encoder = list(self.generator.parameters()) + list(self.encoder.parameters())
        return {
            "ge": Adam(generator_encoder, lr=self.config.lr, betas=self.config.betas),
            "d": Adam(self.discriminator.parameters(), lr=self.config.lr, betas=self.config.betas),
        }

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        x = batch[0]  # [N, C, H, W]
        z = self.latent(x.shape[0], self.config.latent_dim)  # [N, latent]

        with torch.no_grad():
            x_fake, z_real = self.generator(z), self.encoder(x)
        real, _ = self.discriminator(x, z_real)
        fake, _ = self.discriminator(x_fake, z)
        loss_d = losses.discriminator_bce(real, fake)
        self.optimize(loss_d, "d")

        # G wants (G(z), z) called real, E wants (x, E(x)) called fake: the BiGAN game, non-saturating.
        real, _ = self.discriminator(x, self.encoder(x))
        fake, _ = self.discriminator(self.generator(z), z)
        loss_ge = losses.generator_non_saturating(fake) + F.softplus(real).mean()
        self.optimize(loss_ge, "ge")
        return {"loss_d": loss_d.item(), "loss_ge": loss_ge.item(), "d_real": torch.sigmoid(real).mean().item()}

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generator(self.encoder(x))

    def anomaly_score(self, x: Tensor) -> AnomalyOutput:
        with self.scoring():
            z = self.encoder(x)  # [N, latent]
            x_hat = self.generator(z)  # [N, C, H, W]
            residual = (x - x_hat).abs().flatten(1).sum(1)  # [N]
            logits, features = self.discriminator(x, z)
            if self.config.score_discrimination == "feature_matching":
                discrimination = (features - self.discriminator(x_hat, z)[1]).abs().sum(1)  # [N]
            else:
                discrimination = F.softplus(-logits)  # cross-entropy of "real"
            scores = self.config.alpha * residual + (1 - self.config.alpha) * discrimination
            return AnomalyOutput(scores=scores, maps=residual_map(x, x_hat), reconstructions=x_hat)
