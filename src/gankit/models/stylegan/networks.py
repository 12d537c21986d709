"""StyleGAN networks: "A Style-Based Generator Architecture for Generative Adversarial Networks"
(Karras, Laine and Aila, 2019).

The mapping network turns z into an intermediate latent w. The synthesis network starts from a learned
4x4 constant; every layer adds one single-channel noise map scaled by a learned per-channel weight (B)
and then re-styles the normalised features with AdaIN, whose scale and bias are an affine map (A) of
that layer's w. The discriminator is ProGAN's at a fixed resolution, with a minibatch-stddev feature.
Every layer uses equalised learning rate.

    generator = StyleGenerator(latent_dim=128, w_dim=128, mapping_depth=8, image_shape=(1, 32, 32))
    ws = generator.mapping(torch.randn(8, 128))[:, None].repeat(1, generator.num_layers, 1)
    images = generator.synthesis(ws)  # [8, 1, 32, 32]
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.nn.blocks import Blur2d, EqualConv2d, EqualLinear, pixel_norm

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # He gain: keeps activations' scale through leaky-ReLU layers


def check_image_size(size: int) -> None:
    if size < 8 or size & (size - 1):
        raise ValueError(f"StyleGAN networks need a square image size that is a power of two >= 8, got {size}")


def layer_resolutions(size: int) -> list[int]:
    """The resolution of each synthesis layer: two per resolution, [4, 4, 8, 8, ..., size, size]."""
    check_image_size(size)
    return [4 * 2 ** (i // 2) for i in range(2 * int(math.log2(size // 4)) + 2)]


def _width(resolution: int, size: int, width: int, max_width: int) -> int:
    # Channels double as the resolution halves, as in ProGAN and StyleGAN, capped at max_width.
    return min(width * size // resolution, max_width)


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then ``depth`` fully connected layers with leaky ReLU.

    The paper trains these layers 100x slower (``lr_multiplier=0.01``) than the synthesis network.
    """

    def __init__(self, latent_dim: int, w_dim: int, depth: int, lr_multiplier: float = 0.01) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EqualLinear(latent_dim if i == 0 else w_dim, w_dim, gain=LRELU_GAIN, lr_multiplier=lr_multiplier)
            for i in range(depth)
        )
        self.latent_dim, self.w_dim = latent_dim, w_dim

    def forward(self, z: Tensor) -> Tensor:
        x = pixel_norm(z)  # [N, latent_dim]
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LRELU_SLOPE)
        return x  # [N, w_dim]


class AdaIN(nn.Module):
    """Adaptive instance normalisation: normalise each feature map, then scale and shift it with
    a style computed from w by the learned affine transform A."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        # Bias 0 for both halves and a scale of (1 + s): an untrained layer leaves features as they are.
        self.affine = EqualLinear(w_dim, 2 * channels)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, bias = self.affine(w)[:, :, None, None].chunk(2, dim=1)  # [N, C, 1, 1] each
        x = x - x.mean(dim=(2, 3), keepdim=True)
        x = x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + 1e-8)
        return x * (1 + scale) + bias


class ModulatedConv2d(nn.Module):
    """StyleGAN2's style operation (Karras et al. 2020, section 2.2): the style s = A(w) scales the
    3x3 kernel's input channels per example, and demodulation rescales each output channel to
    unit expected variance, which normalises the statistics the weights imply instead of the
    features themselves (AdaIN's instance norm). Computed as StyleGAN2's unfused path does:
    scale the input, convolve with the shared kernel, scale the output, so that one kernel
    serves any batch size (a per-example kernel would need a grouped convolution whose group
    count is the batch size, which an exported graph would freeze)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # s = 1 for an untrained layer
        self.weight_scale = 1 / math.sqrt(in_channels * 9)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        style = self.affine(w)  # [N, C_in]
        weight = self.weight * self.weight_scale  # [C_out, C_in, 3, 3]
        # ||w_o * s||^2 for every example and output channel: [N, C_in] @ [C_in, C_out]
        demodulation = torch.rsqrt(style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8)  # [N, C_out]
        x = F.conv2d(x * style[:, :, None, None], weight, padding=1)  # [N, C_out, H, W]
        return x * demodulation[:, :, None, None]


class StyleLayer(nn.Module):
    """One synthesis layer, with the style applied as ``style_op`` says:

    - ``adain`` (StyleGAN): [upsample, 3x3 conv, blur] -> noise (B) -> bias, leaky ReLU -> AdaIN (A);
      the first layer of the 4x4 block has no convolution: it styles the learned constant directly;
    - ``modulated`` (StyleGAN2): [upsample] -> modulated, demodulated 3x3 conv (A) -> [blur] ->
      noise (B) -> bias, leaky ReLU (times its He gain: demodulation leaves unit-variance outputs);
      every layer, the first included, convolves, since the style acts only through the weights.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, conv: bool, upsample: bool,
                 style_op: str = "adain") -> None:
        super().__init__()
        self.upsample = upsample
        self.modulated = style_op == "modulated"
        if self.modulated:
            self.conv, self.adain = ModulatedConv2d(in_channels, out_channels, w_dim), None
        else:
            self.conv = EqualConv2d(in_channels, out_channels, 3, bias=False, gain=LRELU_GAIN) if conv else None
            self.adain = AdaIN(out_channels, w_dim)
        self.blur = Blur2d(out_channels) if upsample else None
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))  # B, zero at start as in the paper's code
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor, noise: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")  # [N, C, 2H, 2W]
        if self.modulated:
            x = self.conv(x, w)
        elif self.conv is not None:
            x = self.conv(x)
        if self.blur is not None:
            x = self.blur(x)
        x = x + self.noise_strength[None, :, None, None] * noise  # noise [N, 1, H, W]
        x = F.leaky_relu(x + self.bias[None, :, None, None], LRELU_SLOPE)
        return x * LRELU_GAIN if self.modulated else self.adain(x, w)


class SynthesisNetwork(nn.Module):
    """Per-layer styles ws [N, num_layers, w_dim] (and noise maps) -> images [N, C, H, W]."""

    def __init__(self, w_dim: int, image_shape: tuple[int, int, int], width: int, max_width: int,
                 style_op: str = "adain", const_init: str = "ones") -> None:
        super().__init__()
        channels, size, _ = image_shape
        self.resolutions = layer_resolutions(size)
        widths = [_width(r, size, width, max_width) for r in self.resolutions]
        # The learned input; z never enters here. StyleGAN starts it at ones, StyleGAN2 at N(0, 1):
        # a flat map gives the first AdaIN nothing to normalise but the noise, so until the
        # constant learns a layout, the 4x4 layout is the noise's, not w's.
        start = torch.ones if const_init == "ones" else torch.randn
        self.const = nn.Parameter(start(1, widths[0], 4, 4))
        self.layers = nn.ModuleList()
        for i, (resolution, c_out) in enumerate(zip(self.resolutions, widths)):
            c_in = widths[max(i - 1, 0)]
            upsample = i > 0 and resolution > self.resolutions[i - 1]
            self.layers.append(StyleLayer(c_in, c_out, w_dim, conv=i > 0, upsample=upsample, style_op=style_op))
        # Linear output, as in the paper: images are clamped to [-1, 1] only when they are saved.
        self.to_image = EqualConv2d(widths[-1], channels, 1)
        self.num_layers = len(self.layers)

    def make_noise(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> list[Tensor]:
        """One standard-normal map [n, 1, R, R] per layer; drawn on the CPU when seeded."""
        if generator is None:
            return [torch.randn(n, 1, r, r, device=device) for r in self.resolutions]
        return [torch.randn(n, 1, r, r, generator=generator).to(device) for r in self.resolutions]

    def forward(self, ws: Tensor, noise: list[Tensor] | None = None) -> Tensor:
        n = ws.shape[0]
        if noise is None:
            noise = self.make_noise(n, device=ws.device)
        x = self.const.expand(n, -1, -1, -1)  # [N, C, 4, 4]
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise[i])
        return self.to_image(x)  # [N, C_image, H, W]


class StyleGenerator(nn.Module):
    """Mapping plus synthesis. ``forward`` maps latents and synthesises in one call, with optional
    style mixing, so that under DistributedDataParallel every use of G's weights in a training
    step goes through the wrapper (calls to ``mapping`` or ``synthesis`` alone would bypass it)."""

    def __init__(
        self,
        latent_dim: int,
        w_dim: int,
        mapping_depth: int,
        image_shape: tuple[int, int, int],
        width: int = 64,
        max_width: int = 128,
        mapping_lr_multiplier: float = 0.01,
        style_op: str = "adain",
        const_init: str = "ones",
    ) -> None:
        super().__init__()
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_depth, mapping_lr_multiplier)
        self.synthesis = SynthesisNetwork(w_dim, image_shape, width, max_width, style_op, const_init)
        self.num_layers = self.synthesis.num_layers

    def styles(self, z: Tensor, z_mix: Tensor | None = None, crossover: int = 0) -> tuple[Tensor, Tensor]:
        """Per-layer styles [N, L, w_dim] and z's w [N, w_dim]; with ``z_mix`` the layers from
        ``crossover`` on take z_mix's w instead (style-mixing regularisation)."""
        w = self.mapping(z)  # [N, w_dim]
        ws = w[:, None].repeat(1, self.num_layers, 1)  # [N, L, w_dim]
        if z_mix is not None:
            w_mix = self.mapping(z_mix)[:, None].repeat(1, self.num_layers, 1)
            ws = torch.cat([ws[:, :crossover], w_mix[:, crossover:]], dim=1)
        return ws, w

    def forward(
        self, z: Tensor, z_mix: Tensor | None = None, crossover: int = 0, noise: list[Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Images [N, C, H, W] and z's w [N, w_dim] (for the running mean of w)."""
        ws, w = self.styles(z, z_mix, crossover)
        return self.synthesis(ws, noise), w


def minibatch_stddev(x: Tensor, group_size: int) -> Tensor:
    """Append the mean standard deviation over groups of examples as one more feature map
    (ProGAN), so the discriminator can see a lack of variety within a batch."""
    n, _, h, w = x.shape
    group = max(g for g in range(1, min(group_size, n) + 1) if n % g == 0)  # any batch size works
    y = x.reshape(group, -1, *x.shape[1:])  # [G, N/G, C, H, W]
    y = (y - y.mean(dim=0)).pow(2).mean(dim=0).add(1e-8).sqrt()  # [N/G, C, H, W]
    y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(group, 1, h, w)  # [N, 1, H, W]
    return torch.cat([x, y], dim=1)


class StyleDiscriminator(nn.Module):
    """ProGAN / StyleGAN discriminator at a fixed resolution: from-image 1x1 conv, two 3x3 convs and a
    blurred 2x downsampling per resolution, then minibatch stddev, a 3x3 conv and two dense layers."""

    def __init__(
        self, image_shape: tuple[int, int, int], width: int = 64, max_width: int = 128, mbstd_group: int = 4
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape
        check_image_size(size)
        resolutions = [size // 2**i for i in range(int(math.log2(size // 4)) + 1)]  # [size, ..., 4]
        widths = [_width(r, size, width, max_width) for r in resolutions]
        self.from_image = EqualConv2d(channels, widths[0], 1, gain=LRELU_GAIN)
        self.blocks = nn.ModuleList(
            nn.ModuleList([
                EqualConv2d(c_in, c_in, 3, gain=LRELU_GAIN),
                EqualConv2d(c_in, c_out, 3, gain=LRELU_GAIN),
                Blur2d(c_out),
            ])
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        c4 = widths[-1]
        self.final_conv = EqualConv2d(c4 + 1, c4, 3, gain=LRELU_GAIN)
        self.final_dense = EqualLinear(c4 * 16, c4, gain=LRELU_GAIN)
        self.head = EqualLinear(c4, 1)
        self.mbstd_group = mbstd_group

    def trunk(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.from_image(x), LRELU_SLOPE)  # [N, C, H, W]
        for conv0, conv1, blur in self.blocks:
            x = F.leaky_relu(conv0(x), LRELU_SLOPE)
            x = F.leaky_relu(conv1(x), LRELU_SLOPE)
            x = F.avg_pool2d(blur(x), 2)  # [N, C', H/2, W/2]
        return x  # [N, C4, 4, 4]

    def features(self, x: Tensor) -> Tensor:
        """The 4x4 features before the minibatch statistic, [N, C4 * 16]: each image's own (for
        feature matching in a latent search)."""
        return self.trunk(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        x = minibatch_stddev(self.trunk(x), self.mbstd_group)  # [N, C + 1, 4, 4]
        x = F.leaky_relu(self.final_conv(x), LRELU_SLOPE)
        x = F.leaky_relu(self.final_dense(x.flatten(1)), LRELU_SLOPE)
        return self.head(x).squeeze(1)  # [N] logits
