"""The peak memory of a computation, found without doing it.

``peak_memory(work)`` runs ``work`` on the meta device (tensors with a shape and a dtype and
no storage) and returns the most bytes of tensors alive at once: what a training step
(parameters, gradients, optimizer states, the activations autograd saves, the batch) or a
translation would take from a real device's allocator. Nothing of that size is allocated,
so a step that needs 96 GB is refused with an estimate instead of dying in the allocator.
``work`` builds its model and inputs on the meta device itself:

    def translate():
        with torch.device("meta"):
            model = CycleGAN(config, (3, 1024, 1024))
        model.translate(torch.empty(16, 3, 1024, 1024, device="meta"), "a2b")
    needed = peak_memory(translate)

Why not a real step at batch size 1, scaled by the batch size: it would allocate the huge
case's activations for one image (gigabytes for a wide network at 1024 px), spend a real
step's time, and have to run on a copy of the model so that no weight, counter or random
stream moves. Each operation on the meta device runs only its shape function: the time is
the dispatch of each operation, whatever the sizes (0.04 s for a tiny GAN step, 0.3 s for
StyleGAN at 64 px, 0.5 s for CycleGAN at 128 px on one quiet core).

Why not FakeTensorMode (fake tensors that keep their real device, tried first): the same
counts for every variant, a first dry run in a process 1.2-4x as long (later ones 0.5-2x),
and it cannot deep-copy a module holding a batch-norm counter (the EMA copy of a batch-norm
generator, as in the demo): torch logged the failure on stderr, the estimate was lost, and
the process sometimes crashed afterwards (heap corruption, a segmentation fault at exit).

What the meta device does not take: autocast (it applies to CPU and CUDA tensors only, so
a step is measured in fp32, and the training loop adds the half-precision weight copies
autocast keeps; ``nn.losses.full_precision`` skips autocast there), device-specific
kernels (the CUDA optimizers' foreach temporaries, cuDNN's and oneDNN's workspaces) and the
allocator's rounding and caching: a process's resident peak measured 1.1-1.8x the estimate
on the CPU. The count equals the tensors of every variant's real fp32 step on the CPU byte
for byte (tests/test_footprint.py).
"""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from itertools import chain
from typing import Any, Callable, Iterator, TypeVar

import numpy as np
import torch
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_leaves

from gankit.memory import available_memory, check_fits

META = torch.device("meta")
T = TypeVar("T")


def _value_of(tensor: torch.Tensor) -> bool | int | float:
    """What `.item()`, `bool()` and `int()` read. A real tensor (an optimizer's step count,
    made on the CPU) reads its value. A meta tensor has none: a truth value reads as True, so
    that a condition on a tensor ("update G after k critic steps") takes the branch that does
    the work and the estimate is of the busiest step; a number reads as 0, what a new model's
    counters hold and what a check counting bad values finds."""
    if tensor.device.type != "meta":
        with _disable_current_modes():
            return tensor.item()
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


@contextmanager
def _random_streams_kept() -> Iterator[None]:
    """Python's, NumPy's and torch's CPU random streams as they were afterwards (a real CPU
    tensor in a dry run may draw from torch's), so that a dry run never changes what a seeded
    run computes."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def peak_memory(work: Callable[[], Any]) -> int:
    """The most bytes of tensors alive at once while ``work()`` runs on the meta device.

    ``work`` makes its model and inputs there (``torch.device(META)``, ``device=META``); the
    random streams are left as they were. Raises whatever ``work`` raises on the meta device
    (an operation without a meta kernel): callers treat that as "no estimate".
    """
    counter = _LiveBytes()
    with _random_streams_kept(), counter:
        work()
    return counter.peak


def on_meta(build: Callable[[], T]) -> T:
    """``build()`` with its tensors on the meta device, its value reads answered as in
    :func:`peak_memory` (a constructor that draws a seed) and the random streams left as they
    were: a model's layers and shapes, without their storage."""
    with _random_streams_kept(), _LiveBytes(), torch.device(META):
        return build()


# --- a bound for the cases that obviously fit ---------------------------------------------------
# The dry run costs the dispatch of every operation of the step, whatever the sizes (above).
# ``step_bound`` costs a sum over the weights of the model built on the meta device (which
# the loop builds anyway, to check that the weights fit): under a millisecond. It is far
# above the estimate, so a step whose bound fits in a small share of memory certainly fits,
# and needs no dry run: the demo's, the tests' and an MNIST GAN's.
#
# Why it is above the estimate. Every tensor a training step holds is one of two kinds.
# (a) Weight-sized, whatever the batch: the weights and buffers (``weights``, the EMA copy
# included), one gradient each, the optimizer's states (Adam: two), its temporaries, and the
# weights each forward pass derives (spectral norm's normalised weights, StyleGAN's scaled
# ones, autocast's half-precision copies) with their gradients. Measured over every variant:
# at most 4.7 x ``weights``; WEIGHT_COPIES is 12.
# (b) Per example: the batch, the activations autograd saves, their gradients. Each layer's
# tensors are at most as wide as its widest weight dimension (channels or features) and, in
# images, as large as the image: no network here works above the data's resolution (the
# generators stop at it, the discriminators and encoders go down from it). So the layers hold
# about ``widths`` x ``pixels`` per tensor, summed over the layers, and the functional
# operations between them (normalisation, activation, AdaIN, noise, DiffAugment, packing,
# the losses, a network used several times a step, the penalties' double backward) are
# covered by two factors: per layer width and pixel, measured at most 0.48 (StyleGAN at
# 8 px), ACTIVATIONS_PER_WIDTH_PIXEL is 4 (fp32 elements); per byte of the example, for what
# works on the image itself, ACTIVATIONS_PER_INPUT is 64.
# Not a proof: an inventory with constants at least 2.5x (weights) and 8x (activations) the
# largest measured, checked for every variant and option by
# tests/test_footprint.py::test_the_bound_is_above_the_estimate; a new kind of layer that
# works above the data's resolution or per pixel on vectors (a Linear over image positions)
# needs its own term there.
WEIGHT_COPIES = 12
ACTIVATIONS_PER_WIDTH_PIXEL = 4
ACTIVATIONS_PER_INPUT = 64


def step_bound(model: nn.Module, example: tuple[torch.Tensor, ...], batch_size: int) -> int:
    """An upper bound of the peak bytes of a training step of ``model`` (built on the meta
    device: :func:`on_meta`) on batches of ``batch_size`` of ``example`` (one example's
    tensors, [1, ...] each), from its weights and its layers' widths; see above."""
    weights = sum(t.nbytes for t in chain(model.parameters(), model.buffers()))
    widths = 0
    for module in model.modules():
        own = [t for t in chain(module.parameters(recurse=False), module.buffers(recurse=False)) if t.dim() > 0]
        widths += max((max(t.shape[:2]) for t in own), default=0)  # [out, in, ...]: channels or features
    pixels = max(math.prod(t.shape[2:]) for t in example)  # 1 for vectors and labels
    per_example = 4 * ACTIVATIONS_PER_WIDTH_PIXEL * widths * pixels + ACTIVATIONS_PER_INPUT * sum(t.nbytes for t in example)
    return WEIGHT_COPIES * weights + batch_size * per_example


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


def examples_per_pass(memory: Callable[[int], int], count: int, device: torch.device, one: str, hint: str) -> int:
    """How many examples to process at a time on ``device``, ``count`` at most, where
    ``memory(k)`` is the peak bytes of processing ``k`` at once (a dry run on the meta
    device): ``count`` when they fit, or when the dry run fails (an operation the meta device
    cannot run: no estimate, and the real run will tell); else as many as fit. A GankitError
    ("``one``: about N of memory needed; ...; ``hint``") when even one does not fit."""
    try:
        full = memory(count)
    except Exception:
        return count
    room = device_memory(device)
    if full <= room[0]:
        return count
    single = memory(1)
    check_fits(single, one, hint, room)
    return largest_count(single, full, count, room[0])


def work_memory(model: nn.Module, work: Callable[[nn.Module], Any]) -> int:
    """Peak bytes, beyond ``model``'s weights, of ``work(layers)``, where ``layers`` is a copy of
    ``model``'s layers made on the meta device (``type(model)(model.config, model.data_shape)``)
    whose weights are counted from their creation and taken off (a translation, a sampling)."""

    def run() -> None:
        with torch.device(META):
            layers = type(model)(model.config, model.data_shape)
        work(layers)

    return peak_memory(run) - sum(t.nbytes for t in model.state_dict().values())
