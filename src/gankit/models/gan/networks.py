"""DCGAN and MLP networks (Radford et al. 2016), shared by the GAN family.

The generator maps z [N, latent] to images [N, C, H, W] in [-1, 1] by
doubling a small base grid; the discriminator mirrors it with strided
convolutions. With ``out_features=latent_dim`` the discriminator trunk is an
image encoder (EGBAD, GANomaly and f-AnoGAN reuse it that way). With
``extra_convs`` both become the "standard CNN" of Miyato et al. 2018 (Spectral
Normalization for GANs, table 3): a stride-1 3x3 convolution before each
strided one in D and a 3x3 output layer in G, which judge and draw strokes far
better at small sizes for little more compute.

    generator = DCGANGenerator(latent_dim=64, image_shape=(1, 32, 32))
    critic = DCGANDiscriminator(image_shape=(1, 32, 32), norm="none")
    logits = critic(generator(torch.randn(8, 64)))  # [8]
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.nn.blocks import WeightOrActivationNorm as Norm, dcgan_base_size, norm2d, spectral_normalised


def _widths(width: int, doublings: int, max_width: int) -> list[int]:
    # Channels halve at each doubling of resolution: the widest layer works on the smallest grid.
    return [min(width * 2 ** (doublings - 1 - i), max_width) for i in range(doublings)]


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        width: int = 64,
        max_width: int = 512,
        norm: Norm = "batch",
        extra_convs: bool = False,
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape
        base, doublings = dcgan_base_size(size)
        widths = _widths(width, doublings, max_width)
        # The first transposed convolution turns the 1x1 latent into the base grid.
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], base, 1, 0, bias=norm in ("none", "spectral")),
            norm2d(norm, widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=norm in ("none", "spectral")),
                norm2d(norm, c_out),
                nn.ReLU(inplace=True),
            ]
        if extra_convs:
            last = max(widths[-1] // 2, 1)
            layers += [nn.ConvTranspose2d(widths[-1], last, 4, 2, 1, bias=norm in ("none", "spectral")),
                       norm2d(norm, last), nn.ReLU(inplace=True), nn.Conv2d(last, channels, 3, 1, 1), nn.Tanh()]
        else:
            layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        if norm == "spectral":
            spectral_normalised(self.net)
        self.latent_dim = latent_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))  # [N, C, H, W]


class DCGANDiscriminator(nn.Module):
    """Strided-conv trunk plus a head; ``features`` exposes the trunk for feature matching."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        width: int = 64,
        max_width: int = 512,
        norm: Norm = "batch",
        out_features: int = 1,
        extra_convs: bool = False,
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape
        base, doublings = dcgan_base_size(size)
        widths = _widths(width, doublings, max_width)[::-1]
        bias = norm in ("none", "spectral")

        def act() -> nn.Module:
            return nn.LeakyReLU(0.2, inplace=True)

        if extra_convs:
            # Channels on each grid from the full size down to the base: half the first width, then widths.
            levels = [max(widths[0] // 2, 1)] + widths
            layers: list[nn.Module] = []
            for i in range(doublings):
                # No normalisation on the first layer, as in DCGAN: it would wash out the input statistics.
                layers += [nn.Conv2d(levels[i - 1] if i else channels, levels[i], 3, 1, 1, bias=bias or not i),
                           norm2d(norm, levels[i]) if i else nn.Identity(), act(),
                           nn.Conv2d(levels[i], levels[i], 4, 2, 1, bias=bias), norm2d(norm, levels[i]), act()]
            layers += [nn.Conv2d(levels[-2], levels[-1], 3, 1, 1, bias=bias), norm2d(norm, levels[-1]), act()]
        else:
            layers = [nn.Conv2d(channels, widths[0], 4, 2, 1), act()]
            for c_in, c_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), norm2d(norm, c_out), act()]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], out_features, base, 1, 0)
        self.out_features = out_features
        if norm == "spectral":
            spectral_normalised(self)

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x).flatten(1)  # [N, C' * base * base]

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.trunk(x)).flatten(1)  # [N, out_features]
        return out.squeeze(1) if self.out_features == 1 else out


class MLP(nn.Module):
    """Fully connected network for low-dimensional data (the 2-D toy mixtures)."""

    def __init__(self, in_features: int, out_features: int, width: int, depth: int, activation: str) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}[activation]
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(in_features if i == 0 else width, width), act()]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width if depth else in_features, out_features)
        self.out_features = out_features

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.trunk(x))
        return out.squeeze(1) if self.out_features == 1 else out
