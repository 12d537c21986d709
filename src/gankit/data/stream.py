"""Endless, deterministic and resumable batches for the training loop.

Epoch ``e`` visits the examples in the order of a permutation drawn from a
generator seeded with ``seed * 1_000_003 + e``; only ``(epoch, position)`` is
state, so a run resumed from a checkpoint sees exactly the batches the
uninterrupted run would have seen.

    stream = make_stream(data, batch_size=64, seed=0, device=torch.device("cuda"))
    x, y = next(stream)                          # [64, C, H, W], [64] on the device
    stream.load_state_dict(saved.state_dict())   # continue where `saved` stopped

:func:`make_stream` is the one factory: a :class:`BatchStream` for one data set,
a :class:`TwoDomainStream` of batches ``(a, b)`` for :class:`TwoDomainData`.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from gankit.data.dataset import Data, TwoDomainData, labels_of
from gankit.errors import GankitError

PART_SEED_OFFSET = 7919  # decorrelates unpaired domains' shuffles under one run seed (TwoDomainStream)

# The one seed stride: epoch orders (seed * stride + epoch) and per-rank seeds (seed + stride * rank)
# of runs with nearby seeds stay apart for a million epochs or ranks.
SEED_STRIDE = 1_000_003


class BatchStream:
    """Batches of ``batch_size`` examples, forever; the incomplete last batch of an epoch is dropped.

    With ``world_size`` > 1 every rank draws the same permutation and takes
    every ``world_size``-th index from ``rank`` on, so ranks see disjoint
    examples and the same number of batches.
    """

    def __init__(
        self,
        data: Data,
        batch_size: int,
        *,
        seed: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
    ) -> None:
        if isinstance(data, TwoDomainData):
            raise TypeError(f"{data.name} has two domains: make its stream with make_stream")
        if not 0 <= rank < world_size:
            raise GankitError(f"rank {rank} is outside 0..{world_size - 1}")
        if batch_size <= 0:
            raise GankitError(f"train.batch_size must be > 0, got {batch_size}")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        self.rank = rank
        self.world_size = world_size
        self.num_workers = num_workers
        per_rank = len(data) // world_size
        self.steps_per_epoch = per_rank // batch_size
        if self.steps_per_epoch == 0:
            shared = f", {per_rank} per process for {world_size} processes" if world_size > 1 else ""
            raise GankitError(
                f"train.batch_size={batch_size} is larger than {data.name} ({len(data)} examples{shared}); "
                f"use a smaller train.batch_size"
            )
        self.epoch = 0
        self.position = 0  # batches already taken from the current epoch
        if data.x is not None:
            # Moved once: batches are then gathered on the device with no per-example Python work.
            self._x = data.x.to(self.device)  # [N, *shape]
            self._y = labels_of(data).to(self.device)  # [N]
        self._order: Tensor | None = None  # [steps_per_epoch, batch_size] indices of this rank's epoch
        self._loader: Iterator[tuple[Tensor, Tensor]] | None = None

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        if self._order is None:
            self._start_epoch()
        if self.data.x is not None:
            index = self._order[self.position]  # [B] on the device
            x, y = self._x.index_select(0, index), self._y.index_select(0, index)
        else:
            try:
                x, y = next(self._loader)
            except GankitError as error:
                # Freed now, the loader shuts its workers down at once; left in the traceback's
                # reference cycle, a later garbage collection would stall for seconds doing it.
                error.__traceback__ = None
                self._order = self._loader = None
                # A worker's error arrives with its traceback prepended; keep the one line users need.
                last = str(error).strip().splitlines()[-1]
                raise GankitError(last.removeprefix(f"{GankitError.__module__}.GankitError: ")) from None
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
        self.position += 1
        if self.position == self.steps_per_epoch:
            self.epoch += 1
            self.position = 0
            self._order = None
            self._loader = None
        return x, y  # [B, *shape], [B]

    def empty_batch(self, size: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """A batch of ``size`` examples shaped as this stream's on ``device``, with no data taken:
        for measuring a step's memory on the meta device (``gankit.footprint``)."""
        return (torch.empty(size, *self.data.shape, device=device),  # [size, *shape]
                torch.empty(size, dtype=torch.long, device=device))  # [size]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, position = int(state["epoch"]), int(state["position"])
        if epoch < 0 or not 0 <= position < self.steps_per_epoch:
            raise GankitError(
                f"data stream state (epoch {epoch}, batch {position}) does not fit {self.steps_per_epoch} "
                f"batches per epoch; was train.batch_size or the data changed since the checkpoint?"
            )
        self.epoch, self.position = epoch, position
        self._order = None
        self._loader = None

    def _start_epoch(self) -> None:
        generator = torch.Generator().manual_seed((self.seed * SEED_STRIDE + self.epoch) % 2**64)
        permutation = torch.randperm(len(self.data), generator=generator)  # [N]
        mine = permutation[self.rank :: self.world_size][: self.steps_per_epoch * self.batch_size]
        order = mine.view(self.steps_per_epoch, self.batch_size)  # [steps, B]
        if self.data.x is not None:
            self._order = order.to(self.device)
        else:
            self._order = order
            loader = DataLoader(
                self.data.source,
                batch_sampler=order[self.position :].tolist(),
                num_workers=self.num_workers,
                pin_memory=self.device.type == "cuda",
            )
            self._loader = iter(loader)


def make_stream(data: Data, batch_size: int, **options) -> BatchStream | TwoDomainStream:
    """The stream of ``data``: batches ``(x, y)``, or ``(a, b)`` for two domains.

    ``options`` are :class:`BatchStream`'s keywords (seed, device, rank, world_size, num_workers).
    """
    if isinstance(data, TwoDomainData):
        return TwoDomainStream(data, batch_size, **options)
    return BatchStream(data, batch_size, **options)


class TwoDomainStream:
    """Batches (a, b): one :class:`BatchStream` per domain.

    Unpaired domains are shuffled each with its own seed, and an epoch is a pass
    over the larger domain (as in the CycleGAN reference code; the smaller one
    simply starts its next shuffle sooner). Paired domains (of equal size) share
    the seed, so both draw the same permutation and example i of A stays with
    example i of B. State is both streams' positions, so resumed runs see the
    same batches.
    """

    def __init__(self, data: TwoDomainData, batch_size: int, *, seed: int, **options) -> None:
        self.data = data
        offset = 0 if data.paired else PART_SEED_OFFSET
        self.streams = [
            BatchStream(part, batch_size, seed=seed + i * offset, **options) for i, part in enumerate(data.parts)
        ]
        self.steps_per_epoch = max(stream.steps_per_epoch for stream in self.streams)

    def __iter__(self) -> TwoDomainStream:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        (a, _), (b, _) = (next(stream) for stream in self.streams)
        return a, b  # [B, C, H, W] of domain A, [B, C, H, W] of domain B

    def empty_batch(self, size: int, device: torch.device) -> tuple[Tensor, Tensor]:
        (a, _), (b, _) = (stream.empty_batch(size, device) for stream in self.streams)
        return a, b

    def state_dict(self) -> dict[str, dict[str, int]]:
        return {"a": self.streams[0].state_dict(), "b": self.streams[1].state_dict()}

    def load_state_dict(self, state: dict[str, dict[str, int]]) -> None:
        if set(state) != {"a", "b"}:
            raise GankitError("the checkpoint's data stream is not a two-domain one; was the data spec changed?")
        self.streams[0].load_state_dict(state["a"])
        self.streams[1].load_state_dict(state["b"])
