"""WGAN: "Wasserstein GAN" (Arjovsky, Chintala and Bottou 2017).

The discriminator becomes a critic f without a sigmoid, trained to maximise
E[f(x)] - E[f(G(z))], an estimate of the Wasserstein-1 distance when f is
Lipschitz; weight clipping to [-c, c] keeps it so. The estimate is logged as
``wasserstein``: unlike a GAN's losses, it falls as samples improve.

    model = WGAN(WGANConfig(clip=0.01), data_shape=(1, 32, 32))
    model.prepare_training()
    logs = model.train_step((x_real, y), step=0)   # {"wasserstein": ..., ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer, RMSprop

from gankit.config import NON_NEGATIVE, POSITIVE, setting
from gankit.models.gan.model import GAN, GANFamilyConfig
from gankit.nn import losses


@dataclass
class WGANConfig(GANFamilyConfig):
    clip: float = setting(0.01, POSITIVE)
    lr: float = setting(5e-5, POSITIVE)
    # RMSProp as the paper advises (momentum destabilises clipped critics); adam (DCGAN's betas
    # (0.5, 0.999)) is there to test that advice (benchmarks/theory.py).
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    critic_steps: int = setting(5, POSITIVE)
    # The reference code trains the critic to optimality (100 steps) for the first
    # 25 generator steps and every 500th one; set warmup_critic_steps = critic_steps to turn off.
    warmup_critic_steps: int = setting(100, POSITIVE)
    warmup_generator_steps: int = setting(25, NON_NEGATIVE)
    warmup_every: int = setting(500, POSITIVE)


class WGAN(GAN):
    Config = WGANConfig
    description = "WGAN (Arjovsky 2017): critic with weight clipping, RMSProp, logs the Wasserstein estimate"

    def configure_optimizers(self) -> dict[str, Optimizer]:
        def make(parameters) -> Optimizer:
            if self.config.optimizer == "adam":
                return Adam(parameters, lr=self.config.lr, betas=(0.5, 0.999))
            return RMSprop(parameters, lr=self.config.lr)

        return {"g": make(self.generator.parameters()), "d": make(self.discriminator.parameters())}

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
