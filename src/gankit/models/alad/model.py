"""ALAD: "Adversarially Learned Anomaly Detection" (Zenati et al. 2018).

EGBAD's BiGAN (generator G, encoder E, joint discriminator D_xz(x, z)) plus two
discriminators that enforce cycle consistency: D_xx tells (x, x) from
(x, G(E(x))) and D_zz tells (z, z) from (z, E(G(z))). G and E are trained
against all three, so that G(E(x)) reconstructs x. Score = the L1 distance of
D_xx's features of (x, x) and (x, G(E(x))) (the paper's feature-matching
score); map = |x - G(E(x))|.

    model = ALAD(ALADConfig(), data_shape=(1, 32, 32))
    model.prepare_training()
    logs = model.train_step((x, y), step=0); out = model.anomaly_score(x)
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.capabilities import Reconstructor
from gankit.config import BETAS, POSITIVE, setting
from gankit.models.alad.networks import LatentPairDiscriminator, PairDiscriminator
from gankit.models.base import GaussianLatent
from gankit.models.detector import AnomalyDetector, AnomalyOutput, DetectorConfig, residual_map
from gankit.models.egbad.networks import JointDiscriminator
from gankit.models.gan.model import NetworkConfig
from gankit.models.gan.networks import DCGANDiscriminator, DCGANGenerator
from gankit.nn import losses


@dataclass
class ALADConfig(DetectorConfig, NetworkConfig):
    joint_width: int = setting(512, POSITIVE)  # D_xz's latent branch and joint layer; D_zz's layers
    lr: float = setting(2e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)
    latent_cycle: bool = True  # train against D_zz too (the paper's ALAD; false: the x cycle only)


class ALAD(AnomalyDetector, GaussianLatent, Reconstructor):
    Config = ALADConfig
    description = "ALAD (Zenati 2018): BiGAN with x and z cycle discriminators, D_xx feature-matching scores"

    def __init__(self, config: ALADConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        c = config
        self.generator = DCGANGenerator(c.latent_dim, data_shape, c.g_width, norm=c.g_norm)
        self.encoder = DCGANDiscriminator(data_shape, c.d_width, norm=c.d_norm, out_features=c.latent_dim)
        self.discriminator_xz = JointDiscriminator(data_shape, c.latent_dim, c.d_width, c.joint_width, c.d_norm)
        self.discriminator_xx = PairDiscriminator(data_shape, c.d_width, c.d_norm)
        self.discriminator_zz = LatentPairDiscriminator(c.latent_dim, c.joint_width)

    def configure_optimizers(self) -> dict[str, Optimizer]:
        c = self.config
        discriminators = (self.discriminator_xz, self.discriminator_xx, self.discriminator_zz)
        return {
            "ge": Adam(chain(self.generator.parameters(), self.encoder.parameters()), lr=c.lr, betas=c.betas),
            "d": Adam(chain(*(d.parameters() for d in discriminators)), lr=c.lr, betas=c.betas),
        }

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        x = batch[0]  # [N, C, H, W]
        z = self.latent(x.shape[0], self.config.latent_dim)  # [N, latent]

        # The three discriminators: real pairs (x, E(x)), (x, x), (z, z); fake (G(z), z), (x, G(E(x))), (z, E(G(z))).
        with torch.no_grad():
            z_hat, x_fake = self.encoder(x), self.generator(z)
            x_rec, z_rec = self.generator(z_hat), self.encoder(x_fake)
        loss_xz = losses.discriminator_bce(self.discriminator_xz(x, z_hat)[0], self.discriminator_xz(x_fake, z)[0])
        loss_xx = losses.discriminator_bce(self.discriminator_xx(x, x)[0], self.discriminator_xx(x, x_rec)[0])
        loss_d = loss_xz + loss_xx
        if self.config.latent_cycle:
            loss_d = loss_d + losses.discriminator_bce(self.discriminator_zz(z, z)[0], self.discriminator_zz(z, z_rec)[0])
        self.optimize(loss_d, "d")

        # G and E: the BiGAN game with labels swapped (non-saturating), and both cycles called real.
        z_hat, x_fake = self.encoder(x), self.generator(z)
        real_xz, fake_xz = self.discriminator_xz(x, z_hat)[0], self.discriminator_xz(x_fake, z)[0]
        loss_bigan = losses.generator_non_saturating(fake_xz) + losses.generator_non_saturating(-real_xz)
        loss_cycle = losses.generator_non_saturating(self.discriminator_xx(x, self.generator(z_hat))[0])
        if self.config.latent_cycle:
            loss_cycle = loss_cycle + losses.generator_non_saturating(self.discriminator_zz(z, self.encoder(x_fake))[0])
        loss_ge = loss_bigan + loss_cycle
        self.optimize(loss_ge, "ge")
        return {"loss_d": loss_d.item(), "loss_xx": loss_xx.item(), "loss_ge": loss_ge.item(), "loss_cycle": loss_cycle.item()}

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generator(self.encoder(x))

    def anomaly_score(self, x: Tensor) -> AnomalyOutput:
        with self.scoring():
            x_hat = self.reconstruct(x)  # [N, C, H, W]
            _, features_real = self.discriminator_xx(x, x)  # [N, F]
            _, features_rec = self.discriminator_xx(x, x_hat)
            scores = (features_real - features_rec).abs().sum(1)  # [N]
            return AnomalyOutput(scores=scores, maps=residual_map(x, x_hat), reconstructions=x_hat)
