"""CycleGAN: "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks" (Zhu et al. 2017).

Two generators, G: A -> B and F: B -> A, are trained against two PatchGAN
discriminators with least-squares losses, and kept honest without any pairs
by cycle consistency (F(G(a)) ~ a, G(F(b)) ~ b) plus an identity term. One
``train_step`` takes a batch ``(a, b)`` of unpaired images (the ``unpaired:``
data spec) and does the paper's whole update: both generators, then each
discriminator on a history pool of generated images. The learning rate is
held, then decays linearly to zero; both lengths are in steps.

    model = CycleGAN(CycleGANConfig(blocks=6), data_shape=(3, 128, 128))
    model.prepare_training()
    logs = model.train_step((a, b), step=0); photos = model.translate(labels, "a2b")
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import torch
from torch import Tensor
from torch.optim import Adam, Optimizer

from gankit.capabilities import Direction, Translator
from gankit.config import BETAS, NON_NEGATIVE, POSITIVE, Range, Settings, setting
from gankit.data.images import model_images
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.models.cyclegan import loss
from gankit.models.cyclegan.augment import resize_crop_flip
from gankit.models.cyclegan.networks import DOWNSAMPLINGS, ImagePool, PatchDiscriminator, ResnetGenerator
from gankit.nn.blocks import Norm

PREVIEW_EXAMPLES = 6  # per domain: six rows (input, translation, reconstruction for A and B) of six


@dataclass
class CycleGANConfig(Settings):
    g_width: int = setting(64, POSITIVE)  # generator channels at full resolution (doubling twice)
    d_width: int = setting(64, POSITIVE)
    blocks: int | None = setting(None, POSITIVE)  # residual blocks; None: 6 up to 128 px, 9 above (the paper)
    d_layers: int = setting(3, POSITIVE)  # strided PatchGAN layers: 3 sees 70x70 patches
    norm: Norm = "instance"
    cycle_weight: float = setting(10.0, NON_NEGATIVE)  # lambda
    identity_weight: float = setting(0.5, NON_NEGATIVE)  # times lambda; 0 turns the identity loss off
    pool_size: int = setting(50, NON_NEGATIVE)  # generated images remembered per discriminator; 0: no pool
    lr: float = setting(2e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)
    # The paper's 100 + 100 epochs, counted in steps (1,000 images a domain at batch 1).
    constant_steps: int = setting(100_000, NON_NEGATIVE)
    decay_steps: int = setting(100_000, NON_NEGATIVE)
    # Resize by this, random-crop back; 1: no crop.
    crop_scale: float = setting(286 / 256, Range(1, text=">= 1 (resize up, then crop)"))
    flip: bool = True  # random left-right flips


# The preview's rows: each domain's examples, their translations and the translations back.
PREVIEW_ROWS = ("A", "G(A)", "F(G(A))", "B", "F(B)", "G(F(B))")


class CycleGAN(GANModel, Translator):
    Config = CycleGANConfig
    description = "CycleGAN (Zhu 2017): unpaired A <-> B translation, cycle + identity losses, PatchGAN"
    side_multiple = 2**DOWNSAMPLINGS

    def __init__(self, config: CycleGANConfig, data_shape: tuple[int, ...]) -> None:
        super().__init__(config, data_shape)
        if len(data_shape) != 3:
            raise GankitError(f"cyclegan translates images, but the data has shape {tuple(data_shape)}")
        channels, height, width = data_shape
        step = self.side_multiple
        if height % step or width % step:
            raise GankitError(f"cyclegan needs image sides that are multiples of {step}, got {height}x{width}")
        # After its strided layers the PatchGAN needs a 3x3 map for its two stride-1 convolutions.
        if min(height, width) // 2**config.d_layers < 3:
            deepest = max(0, (min(height, width) // 3).bit_length() - 1)
            raise GankitError(f"model.d_layers={config.d_layers} is too deep for {height}x{width} images; use <= {deepest}")
        blocks = config.blocks if config.blocks is not None else (6 if max(height, width) <= 128 else 9)
        self.generator_ab = ResnetGenerator(channels, config.g_width, blocks, config.norm)  # G: A -> B
        self.generator_ba = ResnetGenerator(channels, config.g_width, blocks, config.norm)  # F: B -> A
        self.discriminator_a = PatchDiscriminator(channels, config.d_width, config.d_layers, config.norm)
        self.discriminator_b = PatchDiscriminator(channels, config.d_width, config.d_layers, config.norm)
        self.pool_a = ImagePool(config.pool_size, data_shape)  # fakes F(b) for discriminator_a
        self.pool_b = ImagePool(config.pool_size, data_shape)  # fakes G(a) for discriminator_b
        # Everything a resumed run needs is a buffer, so it travels in state_dict: the step
        # count behind the learning-rate schedule, the state of the generator behind crops,
        # flips and pool choices, and the fixed preview examples.
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))
        seed = int(torch.randint(2**62, ()))  # from the global RNG, which the loop seeds
        self.register_buffer("rng_state", torch.Generator().manual_seed(seed).get_state())
        self.register_buffer("preview_a", torch.zeros(PREVIEW_EXAMPLES, *data_shape))
        self.register_buffer("preview_b", torch.zeros(PREVIEW_EXAMPLES, *data_shape))
        self.register_buffer("preview_count", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self) -> dict[str, Optimizer]:
        # One optimizer per role, as in the reference code: both generators share "g".
        generators = chain(self.generator_ab.parameters(), self.generator_ba.parameters())
        discriminators = chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())
        return {
            "g": Adam(generators, lr=self.config.lr, betas=self.config.betas),
            "d": Adam(discriminators, lr=self.config.lr, betas=self.config.betas),
        }

    def learning_rate(self, updates: int) -> float:
        """The paper's schedule: constant for ``constant_steps``, then linear to 0 over ``decay_steps``."""
        config = self.config
        decayed = max(0, updates - config.constant_steps)
        factor = max(0.0, 1.0 - decayed / config.decay_steps) if config.decay_steps else float(decayed == 0)
        return config.lr * factor

    def train_step(self, batch: tuple[Tensor, ...], step: int) -> dict[str, float]:
        a, b = batch[0], batch[1]  # [N, C, H, W] from domain A, [M, C, H, W] from domain B
        if a.dim() != 4 or b.dim() != 4:
            raise GankitError("cyclegan trains on unpaired image batches (a, b): use an unpaired: data spec")
        self._keep_preview_examples(a, b)
        rng = torch.Generator().manual_seed(0)
        rng.set_state(self.rng_state.cpu())
        a = resize_crop_flip(a, self.config.crop_scale, self.config.flip, rng)
        b = resize_crop_flip(b, self.config.crop_scale, self.config.flip, rng)
        lr = self.learning_rate(int(self.updates))
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        discriminators = (self.discriminator_a, self.discriminator_b)

        # 1. Both generators. D's weights are frozen so that G's loss leaves no gradients in D.
        fake_b = self.generator_ab(a)
        rec_a = self.generator_ba(fake_b)
        fake_a = self.generator_ba(b)
        rec_b = self.generator_ab(fake_a)
        same_a = same_b = None
        if self.config.identity_weight > 0:
            same_a, same_b = self.generator_ba(a), self.generator_ab(b)
        for d in discriminators:
            d.requires_grad_(False)
        terms = loss.generator_terms(
            self.discriminator_b(fake_b), self.discriminator_a(fake_a), a, rec_a, b, rec_b, same_a, same_b
        )
        loss_g = loss.total(terms, self.config.cycle_weight, self.config.identity_weight)
        self.optimize(loss_g, "g")
        for d in discriminators:
            d.requires_grad_(True)

        # 2. Each discriminator on real images and on the history of generated ones.
        fake_a_seen = self.pool_a.query(fake_a, rng)
        fake_b_seen = self.pool_b.query(fake_b, rng)
        loss_d_a = loss.discriminator_loss(self.discriminator_a(a), self.discriminator_a(fake_a_seen))
        loss_d_b = loss.discriminator_loss(self.discriminator_b(b), self.discriminator_b(fake_b_seen))
        self.optimize(loss_d_a + loss_d_b, "d")

        self.rng_state.copy_(rng.get_state())
        self.updates += 1
        logs = {f"loss_{name}": value.item() for name, value in terms.items()}
        logs.update(loss_g=loss_g.item(), loss_d_a=loss_d_a.item(), loss_d_b=loss_d_b.item(), lr=lr)
        return logs

    def _keep_preview_examples(self, a: Tensor, b: Tensor) -> None:
        """Fill the preview buffers from the first batches (one example each at batch size 1)."""
        filled = int(self.preview_count)
        if filled >= PREVIEW_EXAMPLES:
            return
        take = min(PREVIEW_EXAMPLES - filled, a.shape[0], b.shape[0])
        self.preview_a[filled : filled + take] = a[:take].detach()
        self.preview_b[filled : filled + take] = b[:take].detach()
        self.preview_count += take

    @torch.no_grad()
    def translate(self, x: Tensor, direction: Direction) -> Tensor:
        """[N, C, H, W] images in [-1, 1] of one domain -> the other domain, same shape."""
        if direction not in self.directions:
            raise GankitError(f"unknown direction {direction!r}; valid: {', '.join(self.directions)}")
        x = model_images(x, self.data_shape[0], None, "translate")
        step = self.side_multiple
        if x.shape[2] % step or x.shape[3] % step:
            raise GankitError(f"translate needs image sides that are multiples of {step}, got {x.shape[2]}x{x.shape[3]}")
        generator = self.generator_ab if direction == "a2b" else self.generator_ba
        was_training = self.training
        self.eval()
        try:
            return generator(x.to(self.device))
        finally:
            self.train(was_training)

    def cycle(self, x: Tensor, direction: Direction) -> tuple[Tensor, Tensor]:
        """(translation, reconstruction) of ``x``: G(x) and F(G(x)) for a2b, F(x) and G(F(x)) for b2a."""
        translated = self.translate(x, direction)
        return translated, self.translate(translated, "b2a" if direction == "a2b" else "a2b")

    @torch.no_grad()
    def preview(self, n: int, generator: torch.Generator) -> Tensor:
        """Input, translation and reconstruction rows for the fixed examples of A, then of B:
        [6 * k, C, H, W] for the k <= 6 examples kept so far (a square 6 x 6 grid once full)."""
        k = max(1, int(self.preview_count))
        rows = []
        for direction, examples in (("a2b", self.preview_a[:k]), ("b2a", self.preview_b[:k])):
            rows += [examples, *self.cycle(examples, direction)]
        return torch.cat(rows)

    def preview_layout(self, count: int) -> dict[str, Any]:
        return {"nrow": count // len(PREVIEW_ROWS), "rows": list(PREVIEW_ROWS)}

