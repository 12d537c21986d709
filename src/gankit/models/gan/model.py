"""GAN: "Generative Adversarial Networks" (Goodfellow et al. 2014).

A generator G maps noise z to data and a discriminator D is trained to tell
G(z) from real data; G is trained to fool D. The discriminator is updated on
every batch and the generator after every ``d_steps`` of them (the paper's
k), so one loop step is one batch for every variant. With ``pack=m`` (PacGAN,
Lin et al. 2018) D judges packs of m real or m generated examples
(``nn/packing.py``), in GAN, WGAN and WGAN-GP alike.

    model = GAN(GANConfig(loss="minimax", d_steps=1), data_shape=(1, 16, 16))
    model.prepare_training()
    logs = model.train_step((x_real, y), step=0)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.config import BETAS, NON_NEGATIVE, POSITIVE, Settings, setting
from gankit.errors import GankitError
from gankit.models.base import GANModel, GaussianLatent
from gankit.models.gan.networks import MLP, DCGANDiscriminator, DCGANGenerator
from gankit.nn import losses
from gankit.nn.augment import DiffAugment, parse_policy
from gankit.nn.blocks import Norm, WeightOrActivationNorm
from gankit.nn.ema import ema_beta, update_ema
from gankit.nn.packing import pack, packed_shape
from gankit.training.distributed import world_size

if TYPE_CHECKING:
    from gankit.config import RunConfig


@dataclass
class NetworkConfig(Settings):
    """Generator and discriminator shapes, shared by the GAN family."""

    latent_dim: int = setting(64, POSITIVE)
    # auto: MLP for vectors, DCGAN for images; cnn: DCGAN with SNGAN's extra 3x3 convolutions
    network: Literal["auto", "dcgan", "cnn", "mlp"] = "auto"
    g_width: int = setting(64, POSITIVE)  # DCGAN channels at the highest resolution (doubling towards 4x4)
    d_width: int = setting(64, POSITIVE)
    g_norm: Norm = "batch"
    d_norm: Norm = "batch"
    mlp_width: int = setting(256, POSITIVE)
    mlp_depth: int = setting(3, POSITIVE)


@dataclass
class GANFamilyConfig(NetworkConfig):
    """What GAN, WGAN and WGAN-GP share beyond the networks: spectral norm as a choice, D's input
    augmentation, packing and G's EMA."""

    # Why a variant's discriminator must judge single examples (it scores one image by D's
    # features), or None; such a variant refuses model.pack > 1.
    single_examples_because: ClassVar[str | None] = None

    g_norm: WeightOrActivationNorm = "batch"
    d_norm: WeightOrActivationNorm = "batch"
    augment: str = ""  # DiffAugment policy for D's inputs, e.g. "translation,cutout" (small data sets)
    pack: int = setting(1, POSITIVE)  # PacGAN: D judges packs of this many examples (1 = no packing)
    ema_kimg: float = setting(0.0, NON_NEGATIVE)  # half-life of an EMA of G's weights in kimg; 0 = no EMA
    ema_rampup: float | None = setting(0.05, POSITIVE)  # early on, half-life <= this share of images seen

    def validate(self) -> None:
        super().validate()
        parse_policy(self.augment)
        if self.pack > 1 and self.single_examples_because:
            raise GankitError(f"model.pack must be 1 here: {self.single_examples_because}")

    def check_run(self, run: RunConfig) -> None:
        batch = run.train.batch_size
        if batch % self.pack:
            fits = max(batch - batch % self.pack, self.pack)
            raise GankitError(f"train.batch_size {batch} is not a multiple of model.pack {self.pack} (the discriminator "
                              f"judges packs of {self.pack} examples); use train.batch_size={fits}, for example")


@dataclass
class GANConfig(GANFamilyConfig):
    loss: Literal["non_saturating", "minimax", "hinge"] = "non_saturating"
    d_steps: int = setting(1, POSITIVE)  # discriminator updates per generator update (the paper's k)
    lr_g: float = setting(2e-4, POSITIVE)
    lr_d: float = setting(2e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)  # DCGAN's Adam settings


def build_networks(config: GANFamilyConfig, data_shape: tuple[int, ...]):
    """(generator, discriminator) for ``data_shape``: DCGAN for images, MLP for vectors. The
    discriminator takes packs of ``config.pack`` examples (``nn.packing``)."""
    network = config.network
    if network == "auto":
        network = "dcgan" if len(data_shape) == 3 else "mlp"
    if network == "mlp":
        features = math.prod(data_shape)
        generator = MLP(config.latent_dim, features, config.mlp_width, config.mlp_depth, "relu")
        discriminator = MLP(features * config.pack, 1, config.mlp_width, config.mlp_depth, "leaky_relu")
        return _Reshape(generator, data_shape), _Flatten(discriminator)
    if len(data_shape) != 3:
        raise GankitError(f"{network} networks need images, but the data has shape {data_shape}")
    extra_convs = network == "cnn"
    try:
        generator = DCGANGenerator(config.latent_dim, data_shape, config.g_width, norm=config.g_norm,
                                   extra_convs=extra_convs)
        discriminator = DCGANDiscriminator(packed_shape(data_shape, config.pack), config.d_width, norm=config.d_norm,
                                           extra_convs=extra_convs)
    except ValueError as error:
        raise GankitError(str(error)) from None
    return generator, discriminator


class _Reshape(torch.nn.Module):
    """Gives an MLP generator the data's example shape."""

    def __init__(self, net: MLP, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.shape = net, tuple(shape)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.shape)


class _Flatten(torch.nn.Module):
    def __init__(self, net: MLP) -> None:
        super().__init__()
        self.net = net

    def features(self, x: Tensor) -> Tensor:
        return self.net.features(x.flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class GAN(GANModel, GaussianLatent):
    Config = GANConfig
    description = "GAN (Goodfellow 2014): BCE discriminator with a non-saturating or minimax generator loss, or the hinge loss"

    def __init__(self, config: GANConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        self.generator, self.discriminator = build_networks(config, data_shape)
        # Update counters are buffers so that they travel with the weights in checkpoints.
        self.register_buffer("generator_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_updates_since_g", torch.zeros((), dtype=torch.long))
        if config.augment and len(data_shape) != 3:
            raise GankitError(f"model.augment transforms images; this data has shape {tuple(data_shape)}")
        self.augment = DiffAugment(config.augment)
        # Registered only with an EMA, so that checkpoints of runs without one keep their keys.
        self.generator_ema: torch.nn.Module | None = None
        if config.ema_kimg > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
            self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))

    # --- what the Wasserstein variants override -------------------------------------------
    def configure_optimizers(self) -> dict[str, Optimizer]:
        return {
            "g": Adam(self.generator.parameters(), lr=self.config.lr_g, betas=self.config.betas),
            "d": Adam(self.discriminator.parameters(), lr=self.config.lr_d, betas=self.config.betas),
        }

    def discriminator_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, float]]:
        """D's loss on what it judges of a real and a generated batch (``discriminator_input``:
        augmented, packed), and its logs: d_real and d_fake are the mean sigmoid of D's output per
        pack (a probability under BCE; under the hinge loss the same saturation gauge)."""
        real, fake = self.discriminator(x_real), self.discriminator(x_fake)
        objective = losses.discriminator_hinge if self.config.loss == "hinge" else losses.discriminator_bce
        loss_d = objective(real, fake)
        return loss_d, {
            "d_real": torch.sigmoid(real).mean().item(),
            "d_fake": torch.sigmoid(fake).mean().item(),
        }

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        if self.config.loss == "minimax":
            return losses.generator_minimax(fake_scores)
        if self.config.loss == "hinge":
            return losses.generator_wasserstein(fake_scores)
        return losses.generator_non_saturating(fake_scores)

    def critic_steps_per_generator_step(self) -> int:
        return self.config.d_steps

    def after_discriminator_step(self) -> None:
        """Hook for constraints applied to D after its update (WGAN's clipping)."""

    # --- the shared update order ----------------------------------------------------------
    def discriminator_input(self, x: Tensor) -> Tensor:
        """What D judges of examples x [N, *data_shape]: each augmented on its own (DiffAugment),
        then packed, m at a time (PacGAN): [N / m, m * data_shape[0], ...]."""
        return pack(self.augment(x), self.config.pack)

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        x_real = batch[0]  # [N, *data_shape]
        n = x_real.shape[0]
        with torch.no_grad():
            x_fake = self.generator(self.latent(n, self.config.latent_dim))
        # Real and fake alike, so the gradient penalty's interpolates are augmented packs too
        # (between a real pack and a fake one).
        loss_d, logs = self.discriminator_loss(self.discriminator_input(x_real), self.discriminator_input(x_fake))
        self.optimize(loss_d, "d")
        self.after_discriminator_step()
        logs["loss_d"] = loss_d.item()

        self.critic_updates_since_g += 1
        if self.critic_updates_since_g >= self.critic_steps_per_generator_step():
            # D's parameters get gradients here too; they are cleared before D's next update.
            x_fake = self.generator(self.latent(n, self.config.latent_dim))
            loss_g = self.generator_loss(self.discriminator(self.discriminator_input(x_fake)))
            self.optimize(loss_g, "g")
            self.generator_updates += 1
            if self.generator_ema is not None:
                self.update_ema(n * world_size())
            self.critic_updates_since_g.zero_()
            logs["loss_g"] = loss_g.item()
        return logs

    @torch.no_grad()
    def update_ema(self, batch_size: int) -> None:
        self.images_seen += batch_size
        c = self.config
        update_ema(self.generator_ema, self.generator, ema_beta(batch_size, c.ema_kimg, int(self.images_seen), c.ema_rampup))

    def generator_network(self) -> torch.nn.Module:
        """The EMA generator when the run keeps one (sampling, latent search, export), else G."""
        return self.generator if self.generator_ema is None else self.generator_ema
