"""f-AnoGAN: "f-AnoGAN: Fast unsupervised anomaly detection with generative adversarial
networks" (Schlegl et al. 2019).

Two stages inside one run, switched by the step counter: for the first
``gan_steps`` batches a WGAN-GP (this is :class:`WGANGP`, unchanged) learns
normal images; for the next ``encoder_steps`` batches G and the critic are
frozen and an encoder E is trained to invert G (``izif``, ``izi`` or
``ziz``, see loss.py). Scoring is one pass: image MSE of x and G(E(x)) plus
kappa times the critic-feature MSE; the map is the residual |x - G(E(x))|.

    model = FAnoGAN(FAnoGANConfig(gan_steps=6000, encoder_steps=2000), data_shape=(1, 32, 32))
    model.prepare_training()   # train.steps = gan_steps + encoder_steps
    out = model.anomaly_score(x)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.errors import note
from gankit.capabilities import Reconstructor, TrainEndContext
from gankit.config import BETAS, NON_NEGATIVE, POSITIVE, setting
from gankit.models.detector import AnomalyDetector, AnomalyOutput, DetectorConfig, residual_map
from gankit.models.fanogan.loss import EncoderTraining, encoder_loss, izif_distance
from gankit.models.gan.networks import DCGANDiscriminator
from gankit.models.wgan_gp.model import WGANGP, WGANGPConfig


@dataclass
class FAnoGANConfig(DetectorConfig, WGANGPConfig):
    single_examples_because = "f-AnoGAN's encoder training and scores use the critic's features of single images"

    gan_steps: int = setting(6000, NON_NEGATIVE)  # stage 1: WGAN-GP batches (critic updates)
    encoder_steps: int = setting(2000, NON_NEGATIVE)  # stage 2: encoder batches; set train.steps to the sum
    encoder_training: EncoderTraining = "izif"
    kappa: float = setting(1.0, NON_NEGATIVE)  # weight of the critic-feature term, in training (izif) and in the score
    lr_encoder: float = setting(1e-4, POSITIVE)
    betas_encoder: tuple[float, float] = setting((0.5, 0.999), BETAS)


class FAnoGAN(AnomalyDetector, WGANGP, Reconstructor):
    Config = FAnoGANConfig
    description = "f-AnoGAN (Schlegl 2019): WGAN-GP, then an izif encoder; one-pass scores"

    def __init__(self, config: FAnoGANConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        self.encoder = DCGANDiscriminator(data_shape, config.d_width, norm=config.g_norm, out_features=config.latent_dim)
        self.register_buffer("encoder_updates", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self) -> dict[str, Optimizer]:
        config = self.config
        return {
            **super().configure_optimizers(),
            "e": Adam(self.encoder.parameters(), lr=config.lr_encoder, betas=config.betas_encoder),
        }

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        config = self.config
        if step < config.gan_steps:
            return {**super().train_step(batch, step), "stage": 1.0}
        if step >= config.gan_steps + config.encoder_steps:
            return {}  # both stages are done: the loop's budget outlasts them
        return {"loss_e": self.encoder_step(batch[0]), "stage": 2.0}

    def encoder_step(self, x: Tensor) -> float:
        """One update of E with G and the critic frozen in eval mode (their batch norm must not move)."""
        self.generator.eval().requires_grad_(False)
        self.discriminator.eval().requires_grad_(False)
        try:
            z = self.latent(x.shape[0], self.config.latent_dim)
            loss = encoder_loss(
                self.config.encoder_training, self.encoder, self.generator, self.discriminator, x, z, self.config.kappa
            )
            self.optimize(loss, "e")
        finally:
            self.generator.train(self.training).requires_grad_(True)
            self.discriminator.train(self.training).requires_grad_(True)
        self.encoder_updates += 1
        return loss.item()

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generator(self.encoder(x))

    def preview(self, n: int, generator: torch.Generator) -> Tensor:
        """Samples while the encoder is untrained (stage 1), then images beside their reconstructions."""
        if int(self.encoder_updates) == 0:
            return self.sample(n, generator=generator)
        return super().preview(n, generator)

    def anomaly_score(self, x: Tensor) -> AnomalyOutput:
        with self.scoring():
            x_hat = self.reconstruct(x)  # [N, C, H, W]
            scores = izif_distance(self.discriminator, x, x_hat, self.config.kappa)  # [N]
            return AnomalyOutput(scores=scores, maps=residual_map(x, x_hat), reconstructions=x_hat)

    def on_train_end(self, context: TrainEndContext) -> None:
        if int(self.encoder_updates) < self.config.encoder_steps:
            note(
                f"f-AnoGAN's encoder got {int(self.encoder_updates)} of model.encoder_steps={self.config.encoder_steps} "
                f"updates: set train.steps to model.gan_steps + model.encoder_steps "
                f"({self.config.gan_steps + self.config.encoder_steps})"
            )
        super().on_train_end(context)
