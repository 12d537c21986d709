"""StyleGAN: "A Style-Based Generator Architecture for Generative Adversarial Networks" (Karras et al. 2019).

One ``train_step`` is one discriminator and one generator update with the paper's training recipe:
the non-saturating logistic loss, an R1 penalty on real data applied lazily every ``r1_every`` steps
(scaled by ``r1_every`` and with Adam's settings corrected, as StyleGAN2 does), style-mixing
regularisation, an exponential moving average of the generator (``generator_ema``, used for every
sample) and the running mean of w for the truncation trick. Resolution is fixed (StyleGAN2's schedule):
there is no progressive growing.

    model = StyleGAN(StyleGANConfig(), data_shape=(1, 32, 32))
    model.prepare_training()
    images = model.sample(16, truncation=0.7, cutoff=4)  # [16, 1, 32, 32]
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.optim import Adam, Optimizer

from gankit.capabilities import LatentGenerator, StyleSynthesizer
from gankit.config import BETAS, FRACTION, NON_NEGATIVE, POSITIVE, Settings, setting
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.models.stylegan.networks import StyleDiscriminator, StyleGenerator, check_image_size
from gankit.nn import losses
from gankit.nn.augment import DiffAugment, parse_policy
from gankit.nn.ema import ema_beta, update_ema
from gankit.training.distributed import mean_across_ranks, world_size


@dataclass
class StyleGANConfig(Settings):
    latent_dim: int = setting(128, POSITIVE)  # z (512 in the paper)
    w_dim: int = setting(128, POSITIVE)  # w, also the mapping network's width (512 in the paper)
    mapping_depth: int = setting(8, POSITIVE)
    mapping_lr_multiplier: float = setting(0.01, POSITIVE)  # the mapping network learns 100x slower
    g_width: int = setting(32, POSITIVE)  # synthesis channels at the output resolution, doubling towards 4x4 ...
    d_width: int = setting(32, POSITIVE)
    max_width: int = setting(128, POSITIVE)  # ... up to this many (512 in the paper)
    lr: float = setting(0.002, POSITIVE)
    betas: tuple[float, float] = setting((0.0, 0.99), BETAS)
    r1_gamma: float = setting(0.1, NON_NEGATIVE)  # R1 weight; the paper's 10 is for 1024 px faces, small images need far less
    r1_every: int = setting(16, POSITIVE)  # lazy regularisation: R1 on one step in r1_every, scaled by r1_every
    style_mixing_prob: float = setting(0.9, FRACTION)
    ema_kimg: float = setting(10.0, NON_NEGATIVE)  # half-life of the generator's EMA, in thousands of images (StyleGAN2-ADA)
    ema_rampup: float | None = setting(0.05, POSITIVE)  # early on, half-life <= this fraction of the images seen so far
    w_avg_beta: float = setting(0.995, FRACTION)  # decay of the tracked mean w, per generator step
    mbstd_group: int = setting(4, POSITIVE)
    # How w styles each layer: AdaIN on the features (StyleGAN) or modulated, demodulated weights (StyleGAN2).
    style_op: Literal["adain", "modulated"] = "adain"
    const_init: Literal["ones", "normal"] = "ones"  # the learned 4x4 input's start: StyleGAN's ones or StyleGAN2's N(0, 1)
    augment: str = ""  # DiffAugment policy for D's inputs, e.g. "color,translation,cutout" (small data)

    def validate(self) -> None:
        parse_policy(self.augment)


class StyleGAN(GANModel, LatentGenerator, StyleSynthesizer):
    Config = StyleGANConfig
    description = "StyleGAN (Karras 2019): mapping network, AdaIN, noise, style mixing, truncation, R1, EMA"
    sample_options = ("truncation", "cutoff")
    # z: the prior; w: the mapping's output, one style for every layer; w+: one style per layer.
    latent_spaces = ("z", "w", "w+")
    NOISE_SEED = 0  # generate() uses one fixed noise draw, so that its images depend on the latents alone

    def __init__(self, config: StyleGANConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        if len(self.data_shape) != 3 or self.data_shape[1] != self.data_shape[2]:
            raise GankitError(f"stylegan generates square images; this data has shape {self.data_shape}")
        try:
            check_image_size(self.data_shape[1])
        except ValueError as error:
            raise GankitError(f"{error} (set data.image_size, e.g. 32)") from None
        self.generator = StyleGenerator(
            config.latent_dim, config.w_dim, config.mapping_depth, self.data_shape,
            config.g_width, config.max_width, config.mapping_lr_multiplier, config.style_op, config.const_init,
        )
        self.discriminator = StyleDiscriminator(self.data_shape, config.d_width, config.max_width, config.mbstd_group)
        # The EMA copy lives in the model so that it travels in state_dict and checkpoints.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.register_buffer("w_avg", torch.zeros(config.w_dim))
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.augment = DiffAugment(config.augment)

    @property
    def num_layers(self) -> int:
        return self.generator.num_layers

    def configure_optimizers(self) -> dict[str, Optimizer]:
        c = self.config
        # Lazy R1 (StyleGAN2, appendix B): D's regulariser is an extra update of D on one step in
        # r1_every, so Adam's lr and betas are rescaled to keep the same effective momentum per image seen.
        ratio = c.r1_every / (c.r1_every + 1) if c.r1_gamma > 0 else 1.0
        return {
            "g": Adam(self.generator.parameters(), lr=c.lr, betas=c.betas),
            "d": Adam(self.discriminator.parameters(), lr=c.lr * ratio, betas=(c.betas[0] ** ratio, c.betas[1] ** ratio)),
        }

    # --- styles ---------------------------------------------------------------------------
    def broadcast(self, w: Tensor) -> Tensor:
        return w[:, None].repeat(1, self.num_layers, 1)  # [N, L, w_dim]

    def mixing_latents(self, n: int) -> tuple[Tensor, Tensor | None, int]:
        """Training latents for ``generator(z, z_mix, crossover)``: with probability
        ``style_mixing_prob`` a second z takes the layers from a random crossover on."""
        z = self.latent(n, self.config.latent_dim)
        if torch.rand(()).item() >= self.config.style_mixing_prob:
            return z, None, 0
        crossover = int(torch.randint(1, self.num_layers, ()).item())
        return z, self.latent(n, self.config.latent_dim), crossover

    def truncate(self, ws: Tensor, truncation: float = 1.0, cutoff: int | None = None) -> Tensor:
        """The truncation trick: w' = w_avg + psi (w - w_avg) on layers [0, cutoff) (all when None)."""
        if not math.isfinite(truncation):
            raise GankitError(f"truncation must be a finite number, got {truncation}")
        if cutoff is not None and not 1 <= cutoff <= self.num_layers:
            raise GankitError(f"cutoff must be a layer count in 1..{self.num_layers}, got {cutoff}")
        if truncation == 1.0:
            return ws
        cutoff = self.num_layers if cutoff is None else cutoff
        truncated = self.w_avg.lerp(ws[:, :cutoff], truncation)
        return torch.cat([truncated, ws[:, cutoff:]], dim=1)

    @torch.no_grad()
    def styles(self, z: Tensor, truncation: float = 1.0, cutoff: int | None = None) -> Tensor:
        """Per-layer styles [N, L, w_dim] of the EMA generator for latents z [N, latent_dim]."""
        return self.truncate(self.broadcast(self.generator_ema.mapping(z.to(self.device))), truncation, cutoff)

    def make_noise(self, n: int, generator: torch.Generator | None = None, *, shared: bool = False) -> list[Tensor]:
        """Noise maps for ``synthesize``: one [n, 1, R, R] per layer; ``shared`` repeats one draw n times."""
        maps = self.generator_ema.synthesis.make_noise(1 if shared else n, generator, self.device)
        return [m.expand(n, -1, -1, -1) for m in maps] if shared else maps

    @torch.no_grad()
    def synthesize(
        self, ws: Tensor, noise: list[Tensor] | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Images [N, C, H, W] in [-1, 1] from styles ws [N, L, w_dim] with the EMA generator; noise
        maps (see ``make_noise``) are drawn from ``generator`` unless given."""
        if noise is None:
            noise = self.make_noise(ws.shape[0], generator)
        return self.generator_ema.synthesis(ws.to(self.device), noise).clamp(-1, 1)

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None, per_pass: int | None = None,
        truncation: float = 1.0, cutoff: int | None = None,
    ) -> Tensor:
        """n images [n, C, H, W] from the EMA generator, synthesized ``per_pass`` at a time (all at
        once when None; the same images either way); ``truncation`` (psi) < 1 trades variety for
        quality on the first ``cutoff`` layers (all layers when None)."""
        z = self.latent(n, self.config.latent_dim, generator)
        ws = self.styles(z, truncation, cutoff)  # [n, L, w_dim]
        noise = self.make_noise(n, generator)  # drawn for all n first, as one pass would draw them
        step = per_pass or n
        return torch.cat([self.synthesize(ws[i : i + step], [m[i : i + step] for m in noise]) for i in range(0, n, step)])

    # --- the latent spaces, for searches (projection, inpainting) ------------------------------
    def generator_network(self) -> nn.Module:
        return self.generator_ema

    def draw_latents(self, n: int, space: str = "z", generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I) [n, latent_dim]; w = mapping(z) [n, w_dim]; w+ = w for every layer [n, L, w_dim]."""
        self.check_space(space)
        z = self.latent(n, self.config.latent_dim, generator)
        if space == "z":
            return z
        with torch.no_grad():
            w = self.generator_ema.mapping(z)
        return w if space == "w" else self.broadcast(w)

    def generate(self, latents: Tensor, space: str = "z") -> Tensor:
        """Images [N, C, H, W] (not clamped) from latents of ``space`` with the EMA generator."""
        self.check_space(space)
        if space == "z":
            latents = self.generator_ema.mapping(latents)
        ws = latents if space == "w+" else self.broadcast(latents)  # [N, L, w_dim]
        noise = self.make_noise(ws.shape[0], torch.Generator().manual_seed(self.NOISE_SEED), shared=True)
        return self.generator_ema.synthesis(ws, noise)

    # --- training ---------------------------------------------------------------------------
    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        c = self.config
        x_real = batch[0]  # [N, C, H, W]
        n = x_real.shape[0]

        # Discriminator: logistic loss, then R1 on real data on every r1_every-th step.
        with torch.no_grad():
            x_fake, _ = self.generator(*self.mixing_latents(n))
        real_logits = self.discriminator(self.augment(x_real))
        fake_logits = self.discriminator(self.augment(x_fake))
        loss_d = losses.discriminator_bce(real_logits, fake_logits)
        logs = {"loss_d": loss_d.item(), "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item()}
        self.optimize(loss_d, "d")
        if c.r1_gamma > 0 and step % c.r1_every == 0:
            # Its own update of D, as StyleGAN2's lazy regularisation (the "Dreg" phase) does: the
            # reason configure_optimizers rescales D's Adam. With augmentation the gradient is taken
            # through it, with respect to the real images.
            r1 = losses.r1_penalty(lambda x: self.discriminator(self.augment(x)), x_real)
            self.optimize(0.5 * c.r1_gamma * c.r1_every * r1, "d")
            logs["r1"] = r1.item()

        # Generator: non-saturating loss; D is frozen so no gradients are computed for it.
        self.discriminator.requires_grad_(False)
        x_fake, w = self.generator(*self.mixing_latents(n))
        loss_g = losses.generator_non_saturating(self.discriminator(self.augment(x_fake)))
        self.optimize(loss_g, "g")
        self.discriminator.requires_grad_(True)
        logs["loss_g"] = loss_g.item()

        with torch.no_grad():
            # Under torchrun every rank sees its own batch: the statistics follow the global batch.
            images = n * world_size()
            self.w_avg.lerp_(mean_across_ranks(w.float().mean(dim=0)), 1 - c.w_avg_beta)
            self.images_seen += images
            self.update_ema(images)
        return logs

    def update_ema(self, batch_size: int) -> float:
        """Move generator_ema towards generator; the decay is set by a half-life in images."""
        beta = ema_beta(batch_size, self.config.ema_kimg, int(self.images_seen), self.config.ema_rampup)
        update_ema(self.generator_ema, self.generator, beta)
        return beta
