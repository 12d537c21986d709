"""WGAN: "Wasserstein GAN" (Arjovsky, Chintala and Bottou 2017).

The discriminator becomes a critic f without a sigmoid, trained to maximise
E[f(x)] - E[f(G(z))], an estimate of the Wasserstein-1 distance when f is
Lipschitz; weight clipping to [-c, c] keeps it so. The estimate is logged as
``wasserstein``: unlike a GAN's losses, it falls as samples improve.

    model = WGAN(WGANConfig(clip=0.01), data_shape=(1, 32, 32))
    model.optimizers = model.configure_optimizers()
    logs = model.train_step((x_real, y), step=0)   # {"wasserstein": ..., ...}
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.optim import Optimizer, RMSprop

from gankit.config import check_positive
from gankit.models.gan.model import GAN, GANFamilyConfig
from gankit.nn import losses


@dataclass
class WGANConfig(GANFamilyConfig):
    clip: float = 0.01
    lr: float = 5e-5  # RMSProp for both networks: momentum destabilises clipped critics
    critic_steps: int = 5
    # The reference code trains the critic to optimality (100 steps) for the first
    # 25 generator steps and every 500th one; set warmup_critic_steps = critic_steps to turn off.
    warmup_critic_steps: int = 100
    warmup_generator_steps: int = 25
    warmup_every: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "clip", "lr", "critic_steps", "warmup_critic_steps", "warmup_every")
        check_positive(self, "warmup_generator_steps", allow_zero=True)


class WGAN(GAN):
    Config = WGANConfig
    description = "WGAN (Arjovsky 2017): critic with weight clipping, RMSProp, logs the Wasserstein estimate"

    def configure_optimizers(self) -> dict[str, Optimizer]:
        return {
            "g": RMSprop(self.generator.parameters(), lr=self.config.lr),
            "d": RMSprop(self.discriminator.parameters(), lr=self.config.lr),
        }

    def discriminator_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, float]]:
        loss_d = losses.critic_wasserstein(self.discriminator(x_real), self.discriminator(x_fake))
        return loss_d, {"wasserstein": -loss_d.item()}

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.generator_wasserstein(fake_scores)

    def critic_steps_per_generator_step(self) -> int:
        g = int(self.generator_updates)
        if g < self.config.warmup_generator_steps or g % self.config.warmup_every == 0:
            return self.config.warmup_critic_steps
        return self.config.critic_steps

    @torch.no_grad()
    def after_discriminator_step(self) -> None:
        for parameter in self.discriminator.parameters():
            parameter.clamp_(-self.config.clip, self.config.clip)
