"""GANomaly: "GANomaly: Semi-Supervised Anomaly Detection via Adversarial Training"
(Akcay, Atapour-Abarghouei and Breckon 2018).

An encoder-decoder-encoder generator maps x to z = GE(x), reconstructs
x_hat = GD(z) and encodes the reconstruction again, z_hat = E(x_hat); a
DCGAN discriminator D judges x against x_hat. The generator minimises
w_adv * ||f(x) - f(x_hat)||^2 (feature matching on D's trunk)
+ w_con * |x - x_hat|_1 + w_enc * ||z - z_hat||^2. Trained on normal images
only, E learns to encode normal reconstructions, so the anomaly score is the
latent distance ||GE(x) - E(G(x))||^2; the map is |x - G(x)|.

    model = GANomaly(GANomalyConfig(w_con=50), data_shape=(1, 32, 32))
    model.prepare_training()
    logs = model.train_step((x, y), step=0); out = model.anomaly_score(x)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.capabilities import Reconstructor
from gankit.config import BETAS, NON_NEGATIVE, POSITIVE, setting
from gankit.models.detector import AnomalyDetector, AnomalyOutput, DetectorConfig, residual_map
from gankit.models.gan.model import NetworkConfig
from gankit.models.gan.networks import DCGANDiscriminator
from gankit.models.ganomaly.networks import EncoderDecoderEncoder
from gankit.nn import losses
from gankit.training.distributed import broadcast_from_main, mean_across_ranks


@dataclass
class GANomalyConfig(DetectorConfig, NetworkConfig):
    latent_dim: int = setting(100, POSITIVE)  # the paper's nz
    w_adv: float = setting(1.0, NON_NEGATIVE)
    w_con: float = setting(50.0, NON_NEGATIVE)
    w_enc: float = setting(1.0, NON_NEGATIVE)
    lr: float = setting(2e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)
    # The reference code re-initialises D when its loss collapses, so G keeps a training signal.
    reinit_d_below: float = setting(1e-5, NON_NEGATIVE)


class GANomaly(AnomalyDetector, Reconstructor):
    Config = GANomalyConfig
    description = "GANomaly (Akcay 2018): encoder-decoder-encoder generator, latent-distance anomaly scores"

    def __init__(self, config: GANomalyConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        self.generator = EncoderDecoderEncoder(data_shape, config.latent_dim, config.g_width, config.d_width, config.g_norm)
        self.discriminator = DCGANDiscriminator(data_shape, config.d_width, norm=config.d_norm)
        self.register_buffer("discriminator_resets", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self) -> dict[str, Optimizer]:
        return {
            "g": Adam(self.generator.parameters(), lr=self.config.lr, betas=self.config.betas),
            "d": Adam(self.discriminator.parameters(), lr=self.config.lr, betas=self.config.betas),
        }

    def generator_losses(self, x: Tensor, x_hat: Tensor, z: Tensor, z_hat: Tensor) -> dict[str, Tensor]:
        return {
            "adversarial": (self.discriminator.features(x) - self.discriminator.features(x_hat)).pow(2).mean(),
            "contextual": (x - x_hat).abs().mean(),
            "encoder": (z - z_hat).pow(2).mean(),
        }

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        x = batch[0]  # [N, C, H, W]
        config = self.config

        x_hat, z, z_hat = self.generator(x)
        terms = self.generator_losses(x, x_hat, z, z_hat)
        loss_g = config.w_adv * terms["adversarial"] + config.w_con * terms["contextual"] + config.w_enc * terms["encoder"]
        self.optimize(loss_g, "g")

        loss_d = losses.discriminator_bce(self.discriminator(x), self.discriminator(x_hat.detach()))
        self.optimize(loss_d, "d")
        # Every rank takes the same branch (on the mean loss) and keeps rank 0's new weights.
        if mean_across_ranks(loss_d.detach()).item() < config.reinit_d_below:
            self._reset_discriminator()
            broadcast_from_main(self.discriminator)
        return {"loss_g": loss_g.item(), "loss_d": loss_d.item(), **{f"loss_{k}": v.item() for k, v in terms.items()}}

    def _reset_discriminator(self) -> None:
        for module in self.discriminator.modules():
            if hasattr(module, "reset_parameters") and module is not self.discriminator:
                module.reset_parameters()
        self.optimizers["d"].state.clear()
        self.discriminator_resets += 1

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generator(x)[0]

    def anomaly_score(self, x: Tensor) -> AnomalyOutput:
        with self.scoring():
            x_hat, z, z_hat = self.generator(x)
            scores = (z - z_hat).pow(2).mean(1)  # [N]
            return AnomalyOutput(scores=scores, maps=residual_map(x, x_hat), reconstructions=x_hat)
