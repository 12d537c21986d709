"""ALAD's two cycle discriminators (Zenati et al. 2018); its D(x, z) is EGBAD's ``JointDiscriminator``.

D_xx(x, x') tells a real pair (x, x) from (x, G(E(x))), D_zz(z, z') tells (z, z) from
(z, E(G(z))): both return logits and the feature layer the anomaly score compares.

    critic = PairDiscriminator(image_shape=(1, 32, 32), width=64)
    logits, features = critic(x, x_hat)   # [N], [N, F]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.models.gan.networks import DCGANDiscriminator
from gankit.nn.blocks import Norm


class PairDiscriminator(nn.Module):
    """D_xx: the two images stacked along channels through one DCGAN discriminator."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, norm: Norm = "batch") -> None:
        super().__init__()
        channels, height, width_px = image_shape
        self.net = DCGANDiscriminator((2 * channels, height, width_px), width, norm=norm)

    def forward(self, x: Tensor, x_other: Tensor) -> tuple[Tensor, Tensor]:
        trunk = self.net.trunk(torch.cat([x, x_other], 1))  # [N, C', b, b]
        return self.net.head(trunk).flatten(), trunk.flatten(1)  # [N], [N, C' * b * b]


class LatentPairDiscriminator(nn.Module):
    """D_zz: two fully connected layers on the concatenated latents, then a linear head."""

    def __init__(self, latent_dim: int, hidden: int = 512) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(2 * latent_dim, hidden), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, inplace=True),
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, z: Tensor, z_other: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(torch.cat([z, z_other], 1))  # [N, hidden]
        return self.head(features).squeeze(1), features  # [N], [N, hidden]
