"""GANomaly's generator: encoder GE, decoder GD and a second encoder E (Akcay et al. 2018).

All three reuse the DCGAN networks: an encoder is a DCGAN discriminator
trunk with ``latent_dim`` outputs, the decoder a DCGAN generator.

    generator = EncoderDecoderEncoder(image_shape=(1, 32, 32), latent_dim=100)
    x_hat, z, z_hat = generator(x)   # [N, 1, 32, 32], [N, 100], [N, 100]
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.models.gan.networks import DCGANDiscriminator, DCGANGenerator
from gankit.nn.blocks import Norm


class EncoderDecoderEncoder(nn.Module):
    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 64, encoder_width: int = 64, norm: Norm = "batch"
    ) -> None:
        super().__init__()
        self.encoder = DCGANDiscriminator(image_shape, encoder_width, norm=norm, out_features=latent_dim)  # GE
        self.decoder = DCGANGenerator(latent_dim, image_shape, width, norm=norm)  # GD
        self.reencoder = DCGANDiscriminator(image_shape, encoder_width, norm=norm, out_features=latent_dim)  # E

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z = self.encoder(x)  # [N, latent]
        x_hat = self.decoder(z)  # [N, C, H, W]
        return x_hat, z, self.reencoder(x_hat)
