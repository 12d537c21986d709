"""The peak memory of a computation, found without doing it.

``peak_memory(work)`` runs ``work`` on fake tensors and returns the most bytes of tensors
alive at once: what a training step (parameters, gradients, optimizer states, the
activations autograd saves, the batch) or a translation would take from the device's
allocator. Nothing of that size is allocated, so a step that needs 96 GB is refused with
an estimate instead of dying in the allocator.

    needed = peak_memory(lambda: model.translate(torch.empty(16, 3, 1024, 1024), "a2b"))

Why fake tensors. A real step at batch size 1, scaled by the batch size, would allocate
the huge case's activations for one image (gigabytes for a wide network at 1024 px),
spend a real step's time, and have to run on a copy of the model so that no weight,
counter or random stream moves. Tensors on the meta device have no storage either, but
code that asks a tensor for its device breaks (``torch.autocast("meta")`` in the gradient
penalties). FakeTensorMode keeps each tensor's real device, so ``work`` takes the paths the
real run takes (autocast, device checks) at the real batch size, with nothing to scale.
It costs the dispatch of each operation, whatever the sizes: on one core of a heavily
loaded machine, 0.5-2 s for a default GAN step, 4-14 s for StyleGAN at 64 px, 8-9 s for
CycleGAN at 128 px (a fifth to a half of one real step), plus the first use of
FakeTensorMode in a process (it imports torch._dynamo).

The count matches the tensors of the real step byte for byte where the step takes the same
path (tests/test_footprint.py). Not counted: the allocator's rounding and caching, libraries
loaded on first use and kernels' internal buffers (oneDNN's layout copies, cuDNN's
workspaces): a process's resident peak measured 1.1-1.8x the estimate on the CPU.
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Callable

import numpy as np
import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_leaves

from gankit.memory import available_memory


def _value_of(tensor: torch.Tensor) -> bool | int | float:
    """What `.item()`, `bool()` and `int()` read. A real tensor (a loaded model's buffer) reads
    its value, and so does a fake one made from a Python number (an optimizer's step count,
    which FakeTensorMode keeps as a constant). Any other fake tensor has no value: a truth value
    reads as True, so that a condition on a tensor ("update G after k critic steps") takes the
    branch that does the work and the estimate is of the busiest step; a number reads as 0,
    what a new model's counters hold and what a check counting bad values finds."""
    if not isinstance(tensor, FakeTensor):
        with _disable_current_modes():
            return tensor.item()
    if getattr(tensor, "constant", None) is not None:
        return tensor.constant.item()
    if tensor.dtype == torch.bool:
        return True
    return 0.0 if tensor.dtype.is_floating_point or tensor.dtype.is_complex else 0


class _LiveBytes(TorchDispatchMode):
    """Counts each storage from the operation that creates it until it is freed.

    Storages, not tensors: a view or an in-place result shares its input's storage and adds
    nothing. A storage is alive as long as anything holds it (a variable, autograd's saved
    tensors, an optimizer's state), exactly as in the real run; ``StorageWeakRef`` says when
    it is gone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = 0  # bytes counted as alive (dead storages are removed lazily)
        self.peak = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if func is torch.ops.aten._local_scalar_dense.default:
            return _value_of(args[0])
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self._add(tensor.untyped_storage())
        if self.current > self.peak:  # only then does the exact count matter
            self._forget_freed()
            self.peak = max(self.peak, self.current)
        return out

    def _add(self, storage: torch.UntypedStorage) -> None:
        ref = StorageWeakRef(storage)
        # Known already: a view or an in-place result. (A freed storage's address is not reused
        # while its weak reference is held here, so a known address is this very storage.)
        if ref.cdata in self.live:
            return
        self.live[ref.cdata] = (ref, storage.nbytes())
        self.current += storage.nbytes()

    def _forget_freed(self) -> None:
        for key in [key for key, (ref, _) in self.live.items() if ref.expired()]:
            self.current -= self.live.pop(key)[1]


def peak_memory(work: Callable[[], Any]) -> int:
    """The most bytes of tensors alive at once while ``work()`` runs on fake tensors.

    Tensors that ``work`` creates are fake (shape, dtype, device; no storage); real tensors
    it reads (a loaded model's weights) are read, never written, and count only when ``work``
    makes new ones from them. The random streams (Python, NumPy, torch) are as they were
    afterwards, so a dry run never changes what a seeded run computes. Raises whatever
    ``work`` raises on fake tensors (an operation without a fake kernel, a shape that depends
    on values): callers treat that as "no estimate".
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    counter = _LiveBytes()
    try:
        with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []), \
                warnings.catch_warnings(), FakeTensorMode(allow_non_fake_inputs=True), counter:
            # torch warns when code reads a fake tensor's data pointer (deepcopy of a module does,
            # for EMA copies); the pointer is never used for fake tensors.
            warnings.simplefilter("ignore")
            work()
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return counter.peak


def device_memory(device: torch.device) -> tuple[int, int, str]:
    """(available, total) bytes for new tensors on ``device``, and how a message names it:
    RAM for the CPU; for a GPU, what the driver has free plus what this process's caching
    allocator holds unused."""
    if device.type != "cuda":
        available, total = available_memory()
        return available, total, "this machine"
    index = device.index if device.index is not None else torch.cuda.current_device()
    free, total = torch.cuda.mem_get_info(index)
    cached = torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index)
    return free + cached, total, f"cuda:{index}"


def largest_count(one: int, full: int, count: int, available: int) -> int:
    """How many examples fit in ``available`` bytes when ``one`` example needs ``one`` and
    ``count`` of them need ``full``: memory grows linearly with the examples processed at once
    (a fixed part for weights and optimizer states, and a part per example); at least 1."""
    if count <= 1 or full <= one:
        return count
    per_example = (full - one) / (count - 1)
    return max(1, min(count, 1 + int((available - one) // per_example)))
