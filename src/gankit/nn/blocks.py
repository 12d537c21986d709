"""Small layers shared across variants: normalisation by name, DCGAN sizes, equalised-learning-rate
layers, pixel norm and a blur filter.

    layer = EqualLinear(128, 128, gain=math.sqrt(2), lr_multiplier=0.01)
    conv = EqualConv2d(64, 64, 3)
    x = Blur2d(64)(conv(x))  # [N, 64, H, W]
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Norm = Literal["batch", "instance", "layer", "none"]
WeightOrActivationNorm = Literal["batch", "instance", "layer", "none", "spectral"]  # DCGAN networks


def norm2d(kind: WeightOrActivationNorm, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name.

    ``layer`` is GroupNorm with one group: it normalises each example over
    (C, H, W), the batch-independent choice WGAN-GP recommends for critics.
    ``spectral`` normalises weights, not activations (:func:`spectral_normalised`), so
    it adds no layer here.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind in ("none", "spectral"):
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; valid: batch, instance, layer, none, spectral")


def spectral_normalised(network: nn.Module) -> nn.Module:
    """Divide every convolution's and linear layer's weight by its largest singular value
    (Miyato et al. 2018, "Spectral Normalization for GANs"): a 1-Lipschitz layer per layer, the
    cheap way to keep a discriminator from saturating, with no batch statistics."""
    for module in list(network.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(module)
    return network


def dcgan_base_size(image_size: int) -> tuple[int, int]:
    """Split ``image_size`` into base * 2**doublings with 3 <= base <= 7.

    DCGAN networks grow a small base grid by doubling (4 -> 8 -> 16 -> 32 for
    32 px, 7 -> 14 -> 28 for MNIST's 28 px).
    """
    base, doublings = image_size, 0
    while base > 7 and base % 2 == 0:
        base //= 2
        doublings += 1
    if base < 3 or base > 7 or doublings == 0:
        raise ValueError(
            f"DCGAN networks need an image size of base * 2^k with base 3..7 (8, 16, 28, 32, 64, ...), "
            f"got {image_size}"
        )
    return base, doublings


# --- equalised learning rate (Karras et al. 2018, "Progressive Growing of GANs") --------------
# Weights are stored as N(0, 1 / lr_multiplier) and scaled at run time by gain * lr_multiplier /
# sqrt(fan_in). Adam's updates are scale-free, so every layer then learns at the same speed
# whatever its fan-in; lr_multiplier < 1 slows one layer down (StyleGAN's mapping network).


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        gain: float = 1.0,
        lr_multiplier: float = 1.0,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_multiplier)) if bias else None
        self.weight_scale = gain * lr_multiplier / math.sqrt(in_features)
        self.lr_multiplier = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        return F.linear(x, self.weight * self.weight_scale, bias)  # [N, out_features]


class EqualConv2d(nn.Module):
    """2-D convolution (stride 1, 'same' padding) with equalised learning rate."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, *, bias: bool = True, gain: float = 1.0
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_scale = gain / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.weight_scale, self.bias, padding=self.padding)  # [N, C', H, W]


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale each feature vector (dim 1) to unit root-mean-square (ProGAN's pixelwise normalisation)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class Blur2d(nn.Module):
    """Depthwise [1, 2, 1] x [1, 2, 1] low-pass filter; StyleGAN blurs after upsampling and before
    downsampling so that nearest-neighbour resampling does not alias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = torch.outer(kernel, kernel) / 16.0  # [3, 3], sums to 1
        # A constant, not a weight: non-persistent so that checkpoints carry only what is learned.
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone(), persistent=False)
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel, padding=1, groups=self.channels)  # zero padding, as in the paper
