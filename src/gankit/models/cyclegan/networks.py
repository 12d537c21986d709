"""CycleGAN's networks (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks"): the ResNet generator of Johnson et al.
(reflection padding, instance norm, two stride-2 downsamplings, residual blocks,
two upsamplings), the PatchGAN discriminator that scores overlapping patches
(70x70 at 256 px with three strided layers), and the history pool of generated
images that the discriminators are trained on.

    generator = ResnetGenerator(channels=3, width=64, blocks=9)
    critic = PatchDiscriminator(channels=3, width=64, layers=3)   # receptive_field(3) == 70
    scores = critic(generator(torch.randn(1, 3, 256, 256)))       # [1, 1, 30, 30]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.nn.blocks import Norm, norm2d

DOWNSAMPLINGS = 2  # the generator works at 1/4 resolution, so image sides must be multiples of 4


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: Norm) -> None:
        super().__init__()
        # Reflection padding instead of zeros avoids the dark border artefacts of zero padding.
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm == "none"),
            norm2d(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm == "none"),
            norm2d(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-w, d2w, d4w, R4w x blocks, u2w, uw, c7s1-C (the paper's appendix notation)."""

    def __init__(self, channels: int, width: int = 64, blocks: int = 9, norm: Norm = "instance") -> None:
        super().__init__()
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, 7, bias=bias),
            norm2d(norm, width),
            nn.ReLU(inplace=True),
        ]
        for i in range(DOWNSAMPLINGS):
            c_in = width * 2**i
            layers += [nn.Conv2d(c_in, 2 * c_in, 3, 2, 1, bias=bias), norm2d(norm, 2 * c_in), nn.ReLU(inplace=True)]
        layers += [ResidualBlock(width * 2**DOWNSAMPLINGS, norm) for _ in range(blocks)]
        for i in range(DOWNSAMPLINGS, 0, -1):
            c_in = width * 2**i
            layers += [
                nn.ConvTranspose2d(c_in, c_in // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm2d(norm, c_in // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # [N, C, H, W] in [-1, 1]


class PatchDiscriminator(nn.Module):
    """C64-C128-C256-C512 with 4x4 kernels (the last one stride 1), then a 1-channel 4x4 conv:
    one real/fake score per overlapping patch instead of one per image."""

    def __init__(self, channels: int, width: int = 64, layers: int = 3, norm: Norm = "instance") -> None:
        super().__init__()
        # No normalisation on the first layer, as in the paper.
        modules: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c_out = width
        for i in range(1, layers + 1):
            c_in, c_out = c_out, width * min(2**i, 8)
            stride = 2 if i < layers else 1
            modules += [
                nn.Conv2d(c_in, c_out, 4, stride, 1, bias=norm == "none"),
                norm2d(norm, c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        modules.append(nn.Conv2d(c_out, 1, 4, 1, 1))
        self.net = nn.Sequential(*modules)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # [N, 1, H', W'] raw scores (least-squares targets 1 and 0)


def receptive_field(layers: int) -> int:
    """Side in pixels of the input patch behind one PatchDiscriminator score (70 for 3 layers)."""
    # Kernels 4 everywhere; strides 2 for the first ``layers`` convolutions, 1 for the last two.
    strides = [2] * layers + [1, 1]
    field = 1
    for stride in reversed(strides):
        field = field * stride + (4 - stride)
    return field


class ImagePool(nn.Module):
    """The last ``size`` generated images (Shrivastava et al. 2017): each query returns, per
    image, either that image or, with probability 1/2 once the pool is full, a stored older
    one that it replaces. Training D on this history damps oscillation between G and D.

    The pool's contents and fill count are buffers, so checkpoints hold them; the random
    choices come from a generator the caller passes, so a resumed run makes the same ones.
    """

    def __init__(self, size: int, image_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))  # [size, C, H, W]
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def query(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """[N, C, H, W] images for D from the new batch ``x`` (detached)."""
        x = x.detach()
        if self.size == 0:
            return x
        out = x.clone()
        # Drawn on the CPU from the caller's generator: the same choices on every device.
        coins = torch.rand(x.shape[0], generator=generator).tolist()
        slots = torch.randint(self.size, (x.shape[0],), generator=generator).tolist()
        for i in range(x.shape[0]):
            filled = int(self.count)
            if filled < self.size:
                self.images[filled] = x[i]
                self.count += 1
            elif coins[i] > 0.5:
                out[i] = self.images[slots[i]]
                self.images[slots[i]] = x[i]
        return out
