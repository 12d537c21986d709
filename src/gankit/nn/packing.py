"""Packing for the discriminator: "PacGAN: The power of two samples in generative adversarial
networks" (Lin et al. 2018).

The discriminator judges m examples at once, all real or all generated, concatenated along
the feature axis (channels for images): a generator that drops modes makes packs whose
examples look alike, which a packed discriminator can see and a single-example one cannot.
Only the discriminator's input layer changes (m times as many input features or channels).

    packs = pack(x, 2)                       # x [N, C, H, W] -> [N/2, 2C, H, W]; [N, 2] -> [N/2, 4]
    discriminator = build_discriminator(packed_shape((1, 16, 16), 2))   # built for (2, 16, 16)
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import GankitError


def packed_shape(example_shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    """The shape of one pack of ``m`` examples of ``example_shape``: the first axis m times longer."""
    return (example_shape[0] * m, *example_shape[1:])


def pack(x: Tensor, m: int) -> Tensor:
    """[N, D, ...] -> [N/m, m*D, ...]: examples i*m .. i*m+m-1 side by side along axis 1 in pack i.
    ``x`` itself when m is 1; a batch that m does not divide is a GankitError."""
    if m == 1:
        return x
    n = x.shape[0]
    if n % m:
        raise GankitError(f"a batch of {n} examples does not split into packs of {m}: "
                          f"make train.batch_size a multiple of model.pack")
    packs = x.reshape(n // m, m * x.shape[1], *x.shape[2:])
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        # Packs of an NHWC batch (train.channels_last) are a copy; make it NHWC too, the layout
        # the discriminator's convolutions were converted to.
        packs = packs.contiguous(memory_format=torch.channels_last)
    return packs
