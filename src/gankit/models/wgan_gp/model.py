"""WGAN-GP: "Improved Training of Wasserstein GANs" (Gulrajani et al. 2017).

WGAN with the critic's Lipschitz constraint enforced by a gradient penalty
lambda * (||grad f(x_hat)|| - 1)^2 on random interpolates between real and
generated data instead of weight clipping, which lets it train with Adam.
The critic has no batch norm: the penalty is per example.

    model = WGANGP(WGANGPConfig(gp_weight=10), data_shape=(2,))
    model.prepare_training()
    logs = model.train_step((x_real, y), step=0)
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.config import BETAS, NON_NEGATIVE, POSITIVE, setting
from gankit.models.gan.model import GANFamilyConfig
from gankit.models.wgan.model import WGAN
from gankit.nn import losses
from gankit.nn.blocks import WeightOrActivationNorm


@dataclass
class WGANGPConfig(GANFamilyConfig):
    d_norm: WeightOrActivationNorm = "none"  # batch norm would make the per-example penalty invalid
    gp_weight: float = setting(10.0, NON_NEGATIVE)
    critic_steps: int = setting(5, POSITIVE)
    lr: float = setting(1e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.0, 0.9), BETAS)  # Algorithm 1 of the paper (its MNIST code uses 0.5)


class WGANGP(WGAN):
    Config = WGANGPConfig
    description = "WGAN-GP (Gulrajani 2017): critic with gradient penalty, Adam, no batch norm"

    def configure_optimizers(self) -> dict[str, Optimizer]:
        return {
            "g": Adam(self.generator.parameters(), lr=self.config.lr, betas=self.config.betas),
            "d": Adam(self.discriminator.parameters(), lr=self.config.lr, betas=self.config.betas),
        }

    def discriminator_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, float]]:
        loss_w, logs = super().discriminator_loss(x_real, x_fake)
        penalty = losses.gradient_penalty(self.discriminator, x_real, x_fake)
        logs["gradient_penalty"] = penalty.item()
        return loss_w + self.config.gp_weight * penalty, logs

    def critic_steps_per_generator_step(self) -> int:
        return self.config.critic_steps

    def after_discriminator_step(self) -> None:
        """No clipping: the penalty replaces it."""
