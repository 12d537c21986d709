"""Random patches of training images (``data.patch_size``): a detector trained on
patch_size crops of images kept at (or near) their native resolution sees a
small defect at the size it has in the image, where squeezing the whole image
to 32 px would shrink it to a pixel or two. Scoring then slides overlapping
tiles of the same size over whole images (``gankit.detection``).

The crops are drawn from a generator seeded by the stream's seed and position,
so a resumed run sees exactly the patches the uninterrupted run would have.

    stream = PatchStream(BatchStream(data, 64, seed=0, device=device), patch_size=64, seed=0)
    x, y = next(stream)                          # [64, C, 64, 64] random crops, one per image
    evaluation_data = patch_data(data, 64, seed=0)   # one fixed crop per image (for FID and friends)
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from gankit.data.dataset import Data
from gankit.data.stream import SEED_STRIDE, BatchStream
from gankit.errors import GankitError

POSITION_STRIDE = 100_003  # crops of one epoch's batches never share a seed with another epoch's


def patch_shape(shape: tuple[int, ...], patch_size: int | None) -> tuple[int, ...]:
    """The shape a network sees: (C, P, P) from image shape (C, H, W); unchanged without patches."""
    if patch_size is None:
        return tuple(shape)
    if len(shape) != 3:
        raise GankitError(f"data.patch_size needs images, but the data has shape {tuple(shape)}")
    if patch_size > min(shape[1:]):
        raise GankitError(f"data.patch_size {patch_size} is larger than the images ({shape[1]}x{shape[2]} px)")
    return (shape[0], patch_size, patch_size)


def random_crops(x: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """One random ``size`` x ``size`` crop of each image in x [N, C, H, W]: [N, C, size, size]."""
    n, _, height, width = x.shape
    top = torch.randint(0, height - size + 1, (n,), generator=generator).to(x.device)  # [N]
    left = torch.randint(0, width - size + 1, (n,), generator=generator).to(x.device)
    offsets = torch.arange(size, device=x.device)
    rows = (top[:, None] + offsets)[:, :, None]  # [N, size, 1]
    cols = (left[:, None] + offsets)[:, None, :]  # [N, 1, size]
    batch = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indexing on dims 0, 2, 3 puts the channel dim last: [N, size, size, C].
    return x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


class PatchStream:
    """A :class:`BatchStream` of whole images whose batches are cropped to random patches."""

    def __init__(self, stream: BatchStream, patch_size: int, seed: int) -> None:
        self.stream = stream
        self.patch_size = patch_size
        self.seed = seed

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.steps_per_epoch

    def __iter__(self) -> PatchStream:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        # Seeded by the position before the batch is taken: the same batch always gets the same crops.
        seed = (self.seed * SEED_STRIDE + self.stream.epoch) * POSITION_STRIDE + self.stream.position
        generator = torch.Generator().manual_seed(seed % 2**64)
        x, y = next(self.stream)
        return random_crops(x, self.patch_size, generator), y

    def empty_batch(self, size: int, device: torch.device) -> tuple[Tensor, Tensor]:
        x, y = self.stream.empty_batch(size, device)  # whole images, as the real batch before cropping
        return torch.empty(size, x.shape[1], self.patch_size, self.patch_size, device=device), y

    def state_dict(self) -> dict[str, int]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.stream.load_state_dict(state)


def patch_data(data: Data, patch_size: int, seed: int) -> Data:
    """``data`` with each image replaced by one fixed random crop: what generated patches are compared with."""
    if data.x is None:
        raise GankitError("data.patch_size needs the images in memory; set data.in_memory=always")
    crops = random_crops(data.x, patch_size, torch.Generator().manual_seed(seed))
    return replace(data, x=crops, shape=tuple(crops.shape[1:]), source=None)
