"""Multi-process training through torchrun and PyTorch's DistributedDataParallel.

torchrun starts one process per device and sets RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT; ``Distributed.from_env`` reads them and joins the
process group (NCCL for CUDA, gloo for CPU). Without them it is a one-process
no-op, so the loop has a single code path. Every network that an optimizer
trains is wrapped in DDP, but only while ``train_step`` runs (see
``GANModel.using``): checkpoints, previews and evaluation see the plain
networks, so a checkpoint from N ranks loads in one process and rank 0 can
draw samples without a collective call the other ranks would never join.

    dist = Distributed.from_env()
    wrappers = dist.wrap(model)          # {"generator": DDP(generator), ...}
    with model.using(wrappers):
        logs = model.train_step(batch, step)
    logs = dist.mean(logs)               # the same numbers on every rank
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gankit.errors import GankitError



class DistributedNetwork(DistributedDataParallel):
    """DDP that also answers the wrapped network's own attributes (``features``, ``mapping``), so a
    ``train_step`` written for one process runs unchanged. A call through such an attribute
    bypasses DDP's gradient hooks: fine for a frozen network or for gradients that are thrown away,
    but a variant must route every call whose gradients an optimizer uses through ``forward``
    (tests/training/test_distributed.py checks that ranks stay identical for every variant)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if "module" not in modules:
                raise
            return getattr(modules["module"], name)


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, device: torch.device) -> "Distributed":
        """Join torchrun's process group when WORLD_SIZE > 1; ``device`` picks the backend."""
        if not launched_by_torchrun():
            return cls()
        world_size = int(os.environ["WORLD_SIZE"])
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not torch_dist.is_available():
            raise GankitError("this PyTorch build has no torch.distributed; run without torchrun")
        if not torch_dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            # Rank 0 may evaluate or write a report while the others wait at the next collective.
            torch_dist.init_process_group(backend, timeout=timedelta(hours=2))
        return cls(rank, world_size, local_rank)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One GPU per process: cuda becomes cuda:LOCAL_RANK under torchrun."""
        if self.enabled and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def wrap(self, model: nn.Module, names: list[str]) -> dict[str, nn.Module]:
        """DDP around each named child of ``model``; {} in one process."""
        if not self.enabled:
            return {}
        wrappers = {}
        for name in names:
            network = getattr(model, name)
            device = next(network.parameters()).device
            device_ids = [device.index] if device.type == "cuda" else None
            # DDP's default buffer sync: batch-norm running statistics follow rank 0 (the ones checkpointed).
            wrappers[name] = DistributedNetwork(network, device_ids=device_ids)
        return wrappers

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """The mean of each scalar over ranks (every rank logs the same keys in the same order)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self._comm_device())
        torch_dist.all_reduce(tensor)
        return dict(zip(keys, (tensor / self.world_size).tolist()))

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.enabled:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        torch_dist.all_gather_object(gathered, value)
        return gathered

    def barrier(self) -> None:
        if self.enabled:
            torch_dist.barrier()

    def _comm_device(self) -> torch.device:
        # NCCL only moves CUDA tensors; gloo moves CPU ones.
        return torch.device("cuda", torch.cuda.current_device()) if torch_dist.get_backend() == "nccl" else torch.device("cpu")


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that prints and writes files."""
    return int(os.environ.get("RANK", "0")) == 0


def close_process_group() -> None:
    """Leave torchrun's process group at the end of a command (a no-op in one process)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def world_size() -> int:
    """Processes training together (1 without torchrun): for statistics counted in global images."""
    return torch_dist.get_world_size() if torch_dist.is_available() and torch_dist.is_initialized() else 1


def mean_across_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` averaged over ranks (itself in one process): for statistics that live outside any
    DDP-wrapped network, such as StyleGAN's running mean w, so every rank keeps the same value."""
    if world_size() == 1:
        return tensor
    tensor = tensor.clone()
    torch_dist.all_reduce(tensor)
    return tensor / world_size()


def broadcast_from_main(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers into ``module`` on every rank, after a change that
    each rank made with its own random numbers (GANomaly's discriminator re-initialisation)."""
    if world_size() == 1:
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        torch_dist.broadcast(tensor.data, src=0)
