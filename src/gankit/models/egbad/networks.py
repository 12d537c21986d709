"""EGBAD's joint discriminator D(x, z) (Zenati et al. 2018, after BiGAN / ALI).

The image goes through a DCGAN discriminator trunk, the latent through a
fully connected layer; the two are concatenated and mixed by one more layer,
whose output is both the feature layer used in the anomaly score and the
input of the real/fake head.

    critic = JointDiscriminator(image_shape=(1, 32, 32), latent_dim=64)
    logits, features = critic(x, z)   # [N], [N, hidden]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.models.gan.networks import DCGANDiscriminator
from gankit.nn.blocks import Norm


class JointDiscriminator(nn.Module):
    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 64, hidden: int = 512, norm: Norm = "batch"
    ) -> None:
        super().__init__()
        self.image = DCGANDiscriminator(image_shape, width, norm=norm)  # its trunk only; the head is unused
        with torch.no_grad():
            image_features = self.image.features(torch.zeros(1, *image_shape)).shape[1]
        del self.image.head
        self.latent = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2, inplace=True))
        self.joint = nn.Sequential(nn.Linear(image_features + hidden, hidden), nn.LeakyReLU(0.2, inplace=True))
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        features = self.joint(torch.cat([self.image.features(x), self.latent(z)], 1))  # [N, hidden]
        return self.head(features).squeeze(1), features  # [N], [N, hidden]
