"""The one training loop: it drives any variant's ``train_step``.

The loop owns everything around the update itself: device, seeding, the data
stream, budgets (steps, epochs, minutes), the progress bar, scalar logging,
sample grids, in-training evaluation, checkpoints, resume and graceful
interruption (Ctrl-C / SIGTERM save a checkpoint first), non-finite losses
(stop, or roll back to the last checkpoint with a lower learning rate), the
precision mode, channels_last, torch.compile and torchrun (DDP; see
``training/distributed.py``). Models own only what happens within one batch.

    trainer = Trainer(config, Path("runs/demo"))
    result = trainer.fit()          # or Trainer(..., resume=True).fit()
    print(result.samples, result.losses)
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import yaml
from torch import nn

from gankit import __version__
from gankit.capabilities import FinishesTraining, TrainEndContext
from gankit.config import RunConfig
from gankit.data import Data, load_data, make_stream
from gankit.data.stream import SEED_STRIDE
from gankit.data.patches import PatchStream, patch_data, patch_shape
from gankit.errors import GankitError, TrainingInterrupted
from gankit.files import write_text
from gankit.footprint import META, device_memory, largest_count, on_meta, peak_memory, step_bound
from gankit.memory import check_fits, human
from gankit.metrics.evaluator import Evaluator
from gankit.models import get_model_class
from gankit.models.base import GANModel
from gankit.report.html import write_report
from gankit.report.plots import save_samples
from gankit.rundir import RunDirectory
from gankit.training.checkpoint import (
    Checkpoint,
    check_free_space,
    checkpoint_path,
    estimated_size,
    latest_checkpoint,
    load_checkpoint,
    refused_checkpoints,
    save_checkpoint,
)
from gankit.training.distributed import Distributed
from gankit.training.logging import MetricsWriter, RunningMeans
from gankit.training.precision import Precision
from gankit.training.progress import Progress, is_terminal

PREVIEW_SEED = 1234  # the same latents in every grid, so grids show progress, not noise


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path
    samples: Path | None = None
    losses: Path | None = None
    report: Path | None = None
    evaluation: dict[str, float] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GankitError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GankitError(f"device {name!r} asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    numpy_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        # numpy's state holds an ndarray; as a list it loads under weights_only.
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def build_model(config: RunConfig, data_shape: tuple[int, ...], meta: GANModel | None = None) -> GANModel:
    """The variant of ``config`` for data of ``data_shape``, once its weights are known to fit in
    memory (training's optimizer states and activations are ``check_step_fits``'s); ``meta``,
    when given, is the same variant built by ``meta_model``."""
    check_model_fits(config, meta if meta is not None else meta_model(config, data_shape))
    return get_model_class(config.model_name)(config.model, tuple(data_shape))


def meta_model(config: RunConfig, data_shape: tuple[int, ...]) -> GANModel | None:
    """The variant built on the meta device (``footprint.on_meta``): its layers and shapes
    without storage, so that a latent_dim of 10^8 is an estimate and a one-line refusal, not
    the allocator's traceback; None for a variant that cannot be built there."""
    model_class = get_model_class(config.model_name)
    try:
        return on_meta(lambda: model_class(config.model, tuple(data_shape)))
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return None  # simply not estimated


def check_model_fits(config: RunConfig, meta: GANModel | None) -> None:
    if meta is None:
        return
    count = sum(t.numel() for t in meta.state_dict().values())
    check_fits(4 * count, f"a {config.model_name} model with {count:,} parameters",
               "lower the model's widths, latent_dim or data.image_size")


def step_memory(config: RunConfig, data_shape: tuple[int, ...], stream: Any, precision: Precision,
                batch_size: int) -> int:
    """Peak bytes of one training step at ``batch_size``: the variant's own ``train_step``, run
    once on the meta device (``gankit.footprint``) on a batch of ``stream``'s shapes, counts
    weights, gradients, optimizer states and activations, with nothing allocated."""
    model_class = get_model_class(config.model_name)
    trainable = []

    def one_step() -> None:
        with torch.device(META):
            model = model_class(config.model, data_shape)
        trainable.append(sum(p.nbytes for p in model.parameters() if p.requires_grad))
        model.prepare_training()  # no loss scaler: on values it cannot read it would skip the optimizer step
        model.train_step(stream.empty_batch(batch_size, META), 0)

    peak = peak_memory(one_step)  # in fp32: autocast does not apply on the meta device
    # Under autocast a step keeps a half-precision copy of each weight it casts, and its
    # activations take no more than in fp32: measured on the CPU under bf16 for every variant,
    # at most half the trainable weights' bytes above the fp32 count (tests/test_footprint.py).
    return peak + (trainable[0] // 2 if precision.dtype is not None else 0)


# The dry run is skipped when the step's bound fits in this share of the memory available:
# then the step certainly fits.
OBVIOUSLY_FITS = 0.25


def check_step_fits(config: RunConfig, data_shape: tuple[int, ...], stream: Any, device: torch.device,
                    precision: Precision, meta: GANModel | None) -> None:
    """A GankitError before the first step when one training step would not fit in ``device``'s
    memory; ``meta`` is the variant built by ``meta_model``, for the bound that spares the dry
    run of a step that obviously fits."""
    room = device_memory(device)
    available = room[0]

    def needed_at(batch_size: int) -> int:
        return step_memory(config, data_shape, stream, precision, batch_size)

    bound = None if meta is None else step_bound(meta, stream.empty_batch(1, META), config.train.batch_size)
    if bound is not None and bound <= OBVIOUSLY_FITS * available:
        return  # it certainly fits
    try:
        full = needed_at(config.train.batch_size)
    except Exception:  # an operation the meta device cannot run: no estimate, and the real step will tell
        return
    if full > available:
        shape = "x".join(map(str, data_shape))
        check_fits(full, f"training {config.model_name} at batch size {config.train.batch_size} on {shape} examples",
                   smaller_step_hint(config, len(data_shape) == 3, needed_at, full, available), room)


def smaller_step_hint(config: RunConfig, images: bool, needed_at: Callable[[int], int], needed: int,
                      available: int) -> str:
    """What to lower when a step does not fit: the batch size that would, or else the sizes."""
    widths = ", ".join(f"model.{f.name}" for f in dataclasses.fields(config.model) if f.name.endswith("width"))
    sizes = f"data.image_size or the networks' widths ({widths})" if images else f"the networks' widths ({widths})"
    batch_size = config.train.batch_size
    one = needed_at(1) if batch_size > 1 else needed
    if one > available:
        return f"even a batch of 1 needs about {human(one)}; lower {sizes}"
    return f"lower train.batch_size to {largest_count(one, needed, batch_size, available)} or less, or {sizes}"


class _StopSignals:
    """Turns the first SIGINT/SIGTERM into a flag checked between steps, so a step is
    never cut in half; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        print(f"\n{signal.Signals(signum).name} received: saving a checkpoint after this step...", flush=True)

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


class Trainer:
    def __init__(self, config: RunConfig, run_dir: Path, *, resume: bool = False) -> None:
        self.config = config
        self.run = RunDirectory(run_dir)
        self.run_dir = self.run.path
        self.resume = resume
        self.checkpoint_dir = self.run.checkpoints
        device = resolve_device(config.train.device)
        self.dist = Distributed.from_env(device)  # one process unless started by torchrun
        self.device = self.dist.device(device)
        self.created_run_dir = False
        self.lock = None
        try:
            self._prepare_run_dir()
        except BaseException:
            self._remove_unused_run_dir()
            raise

    def _prepare_run_dir(self) -> None:
        # The highest folder this run creates (runs/ itself, for a first default --out): what a
        # failed set-up removes again.
        missing = [p for p in (self.run_dir, *self.run_dir.parents) if not p.exists()]
        self.created_root = missing[-1] if missing else None
        self.created_run_dir = bool(missing)
        if self.dist.is_main and self.run_dir.is_dir():
            # One training process owns a run directory, from before its checks until it is done:
            # a second one into the same --out is refused with the holder's pid.
            self.lock = self.run.lock("train")
            self.lock.acquire()
        # Every rank checks, so that all fail alike; then only rank 0 writes.
        saved = latest_checkpoint(self.checkpoint_dir) is not None
        restart = False
        if self.resume:
            if not saved:
                raise GankitError(
                    f"{self.run_dir} holds no usable checkpoint to resume from ({refused_checkpoints(self.checkpoint_dir)}); "
                    "start it again without --resume (the same --out works)"
                )
        elif self.run.config.exists():
            if saved:
                raise GankitError(
                    f"{self.run_dir} already holds a run; resume it with --resume or choose another --out"
                )
            # A run stopped (or failed in set-up) before its first checkpoint has nothing to resume
            # from and nothing to lose: it starts again, so that its --out stays usable.
            restart = True
        self.dist.barrier()
        if not self.dist.is_main:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.lock is None:
                self.lock = self.run.lock("train")
                self.lock.acquire()
            probe = self.run_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise GankitError(f"cannot write to run directory {self.run_dir}: {error.strerror}") from None
        if restart:
            print(f"note: {self.run_dir} holds a run that saved no checkpoint; starting it again")
            self.run.metrics.unlink(missing_ok=True)
        write_text(self.run.config, yaml.safe_dump(self.config.to_dict(), sort_keys=False))

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _remove_unused_run_dir(self) -> None:
        """A run that this process created and that failed in set-up (a bad data spec, say) leaves
        no directory behind: it holds only the files written here, and nothing a user saved.
        Only the lock's owner removes anything: a process refused by the lock touches nothing."""
        if self.lock is None or not self.created_run_dir:
            self._release()
            return
        for path in (self.run.config, self.run.metrics):
            path.unlink(missing_ok=True)
        self._release()
        for folder in (self.run_dir, *self.run_dir.parents):
            try:
                folder.rmdir()
            except OSError:  # something else was put there meanwhile: keep it
                return
            if folder == self.created_root:
                return

    # --- set-up -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Build data, model, optimizers and wrappers (and restore a checkpoint when resuming);
        ``fit`` calls it; benchmarks call it to drive ``next_batch``/``train_step`` themselves."""
        train = self.config.train
        seed_everything(train.seed)
        self.data: Data = load_data(self.config.data)
        # The end-of-training evaluation needs two real halves: a data set too small for it is
        # refused now, not after the whole budget is spent.
        Evaluator.sample_count(self.data, train.eval_samples)
        patch_size = self.config.data.patch_size
        shape = patch_shape(self.data.shape, patch_size)
        # The stream takes no random numbers when it is made: made before the model, it gives the
        # step's estimate its batches' shapes, and the model's initial weights stay the seed's.
        self.stream = make_stream(
            self.data,
            train.batch_size,
            seed=train.seed,  # the same on every rank: ranks share one permutation, each its shard
            device=self.device,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            num_workers=self.config.data.num_workers,
        )
        if patch_size is not None:
            self.stream = PatchStream(self.stream, patch_size, train.seed)
        self.precision = Precision(train.precision, self.device)
        meta = meta_model(self.config, shape)
        if not self.dist.enabled:  # under torchrun, meta tensors must not reach the collectives a step calls
            check_step_fits(self.config, shape, self.stream, self.device, self.precision, meta)
        self.model = build_model(self.config, shape, meta).to(self.device)
        # Generated patches are compared with real patches (one fixed crop per image).
        self.eval_data = self.data if patch_size is None else patch_data(self.data, patch_size, train.seed)
        if train.channels_last and self.model.is_image_model:
            self.model.to(memory_format=torch.channels_last)
        self.model.run_config = self.config
        self.model.prepare_training(self.precision.grad_scalers)
        # A disk too full for one checkpoint is known now, not after hours of training.
        check_free_space(self.checkpoint_dir, estimated_size(self.model))
        self.step = 0
        self.elapsed = 0.0
        self.nan_rollbacks = 0
        self.lr_scale = 1.0  # product of the roll-backs' learning-rate factors
        self.writer = MetricsWriter(self.run_dir, enabled=self.dist.is_main)
        self.evaluator: Evaluator | None = None  # built at the first evaluation, then reused
        if self.resume:
            self._restore(latest_checkpoint(self.checkpoint_dir))
        elif self.dist.enabled:
            # Weights were initialised alike (and DDP copies rank 0's); noise must differ per rank.
            seed_everything(train.seed + SEED_STRIDE * self.dist.rank)  # rank 0 keeps the run's seed
        self.wrappers = self._wrap_networks()

    def _wrap_networks(self) -> dict[str, nn.Module]:
        """What stands in for each trained network during train_step: DDP under torchrun, then
        torch.compile when asked for; plain networks (no wrapper) otherwise."""
        names = self.model.trained_networks()
        wrappers = self.dist.wrap(self.model, names)
        if self.config.train.compile:
            wrappers = {name: torch.compile(wrappers.get(name, getattr(self.model, name))) for name in names}
        return wrappers

    def _restore(self, path: Path) -> None:
        checkpoint = load_checkpoint(path, map_location=self.device, model_name=self.config.model_name)
        try:
            self.model.load_state_dict(checkpoint.model)
            for name, optimizer in self.model.optimizers.items():
                optimizer.load_state_dict(checkpoint.optimizers[name])
            self.stream.load_state_dict(checkpoint.stream)
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise GankitError(f"{path} does not fit this model's configuration: {reason}") from None
        for name, scaler_state in checkpoint.grad_scalers.items():
            if name in self.model.grad_scalers:
                self.model.grad_scalers[name].load_state_dict(scaler_state)
        self.step = self.model.step = checkpoint.step
        self.elapsed = checkpoint.elapsed_seconds
        self.nan_rollbacks = checkpoint.nan_rollbacks
        self.lr_scale = checkpoint.lr_scale
        self._restore_rng(checkpoint.rng)
        self.writer.truncate_after(self.step)
        if self.dist.is_main:
            print(f"resuming {self.run_dir} from step {self.step} ({path.name})")

    def _restore_rng(self, per_rank: list[dict[str, Any]]) -> None:
        if len(per_rank) == self.dist.world_size:
            restore_rng(per_rank[self.dist.rank])
            return
        # Another process count than the checkpoint's: the data order continues where it stopped,
        # but the noise is new (seeded by rank and step), so this resume is not bit-exact.
        seed_everything(self.config.train.seed + SEED_STRIDE * self.dist.rank + self.step)
        if self.dist.is_main:
            print(f"note: the checkpoint was written by {len(per_rank)} process(es), this run has "
                  f"{self.dist.world_size}; random streams are re-seeded (not a bit-exact resume)")

    # --- budgets ----------------------------------------------------------------------------
    def _total_steps(self) -> int | None:
        train = self.config.train
        limits = []
        if train.steps is not None:
            limits.append(train.steps)
        if train.epochs is not None:
            limits.append(math.ceil(train.epochs * self.stream.steps_per_epoch))
        return min(limits) if limits else None

    def _done(self, total: int | None) -> bool:
        minutes = self.config.train.minutes
        if total is not None and self.step >= total:
            return True
        return minutes is not None and self.elapsed >= minutes * 60

    # --- the loop ---------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        try:
            self.setup()
        except BaseException:
            self._remove_unused_run_dir()
            raise
        try:
            return self._fit()
        finally:
            self._release()

    def _fit(self) -> TrainResult:
        train = self.config.train
        total = self._total_steps()
        means = RunningMeans()
        main = self.dist.is_main
        if main:
            print(self.describe(total), flush=True)
        progress = Progress(total_steps=total, minutes=train.minutes, interactive=train.progress and is_terminal(),
                            print_every=train.print_every, start_step=self.step, start_elapsed=self.elapsed, enabled=main)
        self.progress = progress
        row: dict[str, float] = {}
        checkpoint = None
        try:
            with _StopSignals() as stop:
                while not self._done(total):
                    start = time.perf_counter()
                    logs = self.train_step(self.next_batch())
                    self.elapsed += time.perf_counter() - start
                    logs, stop_requested = self._synchronise(logs, stop.received is not None)
                    if not self._finite_or_rolled_back(logs):
                        means = RunningMeans()
                        continue
                    means.add(logs)
                    if self.step % train.log_every == 0:
                        row = means.pop()
                        self.writer.write(self.step, row)
                    progress.update(self.step, self.elapsed, row)
                    if main and self.step % train.sample_every == 0:
                        self._save_preview(self.run.preview(self.step))
                    if main and train.eval_every and self.step % train.eval_every == 0:
                        self.writer.write(self.step, self.evaluate(), kind="eval")
                    if self.step % train.checkpoint_every == 0:
                        checkpoint = self._save_checkpoint()
                    if stop_requested:
                        checkpoint = checkpoint if self._saved_at(checkpoint) else self._save_checkpoint()
                        raise TrainingInterrupted(stop.received or signal.SIGTERM, checkpoint)
            # The hook may change the model's state (calibration buffers), so the final
            # checkpoint is written after it even when one exists for this step.
            finishes = isinstance(self.model, FinishesTraining)
            if finishes and main:
                # A hook that draws random numbers (AnoGAN's latent search) must not move the RNG
                # state the checkpoint stores, or a resumed run would continue from another stream.
                rng = capture_rng()
                self.model.on_train_end(TrainEndContext(self.config, self.run_dir, self.device, self.data))
                restore_rng(rng)
            if finishes or not self._saved_at(checkpoint):
                checkpoint = self._save_checkpoint()
        finally:
            progress.close()
            self.writer.close()
        return self._finish(checkpoint) if main else TrainResult(self.run_dir, self.step, checkpoint)

    def describe(self, total: int | None) -> str:
        """The start line: what was resolved from the settings and the data."""
        data, train = self.data, self.config.train
        shape = "x".join(map(str, data.shape)) if data.kind == "image" else f"{data.shape[0]}-D points"
        budget = []
        if total is not None:
            epochs = total / self.stream.steps_per_epoch
            budget.append(f"{total:,} steps ({epochs:.3g} epochs)")
        if train.minutes is not None:
            budget.append(f"{train.minutes:g} minutes")
        verb = f"resuming at step {self.step:,}:" if self.resume else "training"
        return (f"{verb} {self.config.model_name} on {data.name} ({shape}, {len(data):,} {'images' if data.kind == 'image' else 'examples'}, "
                f"{self.config.data.split} split) for {' or '.join(budget)}, batch {train.batch_size}, "
                f"device {self.device} -> {self.run_dir}")

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        batch = next(self.stream)
        if not self.config.train.channels_last:
            return batch
        return tuple(t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in batch)

    def train_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """The model's train_step with this run's wrappers (DDP, compile) and precision."""
        self.model.observe_batch(batch)
        if self.config.train.lr_decay == "linear":
            self._decay_learning_rates()
        with self.model.using(self.wrappers), self.precision.autocast():
            logs = self.model.train_step(batch, self.step)
        self.step += 1
        self.model.step = self.step
        return logs

    def _decay_learning_rates(self) -> None:
        """train.lr_decay=linear: each learning rate is its optimizer's first one (kept in the
        optimizer's state as ``initial_lr``, as torch's schedulers keep it) times the roll-backs'
        factor times (1 - step / steps), recomputed from the step so that a resumed run matches."""
        factor = self.lr_scale * max(0.0, 1.0 - self.step / self.config.train.steps)
        for optimizer in self.model.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor

    def _synchronise(self, logs: dict[str, float], stop: bool) -> tuple[dict[str, float], bool]:
        """Under torchrun: the logs averaged over ranks (the global batch's losses), whether any
        rank got a stop signal, and one elapsed time, so that every rank takes the same branches."""
        if not self.dist.enabled:
            return logs, stop
        synced = self.dist.mean({**logs, "_elapsed": self.elapsed, "_stop": float(stop)})
        self.elapsed = synced.pop("_elapsed")
        return synced, synced.pop("_stop") > 0

    def _saved_at(self, checkpoint: Path | None) -> bool:
        return checkpoint is not None and checkpoint.name == f"step-{self.step:09d}.pt"

    def _finite_or_rolled_back(self, logs: dict[str, float]) -> bool:
        """True when every logged loss is finite; otherwise roll back (train.on_nan: rollback,
        returning False) or stop with a GankitError that names the step and the loss."""
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if not bad:
            return True
        key, value = next(iter(bad.items()))
        self._non_finite(f"{key} became {value} at step {self.step}")
        return False

    def _non_finite(self, what: str) -> None:
        train = self.config.train
        last = latest_checkpoint(self.checkpoint_dir)
        if train.on_nan == "rollback" and last is not None and self.nan_rollbacks < train.nan_max_rollbacks:
            self._rollback(last, what)
            return
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was saved yet"
        hint = "Lower the learning rate or check the data"
        if train.on_nan == "stop":
            hint += ", or set train.on_nan=rollback"
        elif last is not None:
            hint = f"{train.nan_max_rollbacks} roll-back(s) did not help; " + hint.lower()
        raise GankitError(f"{what}; training stopped and {kept}. {hint}.")

    def _rollback(self, path: Path, what: str) -> None:
        """Reload ``path`` (weights, optimizers, data order, RNG) and scale every learning rate by
        train.nan_lr_factor: the same batches are replayed with smaller steps."""
        lr_scale = self.lr_scale * self.config.train.nan_lr_factor
        rollbacks = self.nan_rollbacks + 1
        self._restore(path)  # the checkpoint's learning rates include its own lr_scale
        for optimizer in self.model.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] *= lr_scale / self.lr_scale
        self.lr_scale, self.nan_rollbacks = lr_scale, rollbacks
        if self.dist.is_main:
            self.progress.write(f"{what}: rolled back to {path.name} with learning rates x{lr_scale:g} "
                       f"(roll-back {rollbacks} of {self.config.train.nan_max_rollbacks})")

    def _non_finite_weights(self) -> str | None:
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return name
        return None

    def _save_checkpoint(self) -> Path:
        # A checkpoint is never written with non-finite weights: it would become the "last good" one.
        bad = self._non_finite_weights()
        if bad is not None:
            self._non_finite(f"weights {bad} became non-finite at step {self.step}")
            return latest_checkpoint(self.checkpoint_dir)
        rng = self.dist.gather(capture_rng())  # every rank's streams, for an exact resume
        path = checkpoint_path(self.checkpoint_dir, self.step)
        if self.dist.is_main:
            path = self._write_checkpoint(rng)
        self.dist.barrier()  # no rank goes on (or resumes) before the file is complete
        return path

    def _write_checkpoint(self, rng: list[dict[str, Any]]) -> Path:
        checkpoint = Checkpoint(
            step=self.step,
            gankit_version=__version__,
            model_name=self.config.model_name,
            config=self.config.to_dict(),
            data_shape=list(self.model.data_shape),  # what the networks take (a patch when patched)
            model=self.model.state_dict(),
            elapsed_seconds=self.elapsed,
            optimizers={name: opt.state_dict() for name, opt in self.model.optimizers.items()},
            rng=rng,
            stream=self.stream.state_dict(),
            grad_scalers={name: scaler.state_dict() for name, scaler in self.model.grad_scalers.items()},
            nan_rollbacks=self.nan_rollbacks,
            lr_scale=self.lr_scale,
        )
        return save_checkpoint(self.checkpoint_dir, checkpoint, keep=self.config.train.keep_checkpoints)

    def _save_preview(self, path: Path) -> Path:
        generator = torch.Generator().manual_seed(PREVIEW_SEED)
        # A scatter plot of 2-D points needs as many points as the mode metric draws.
        n = self.config.train.num_preview if len(self.data.shape) > 1 else max(self.config.train.num_preview, 2500)
        samples = self.model.preview(n, generator)
        return save_samples(samples, path, self.data.modes, title=f"{self.config.model_name}, step {self.step}",
                            **(self.model.preview_layout(len(samples)) if samples.dim() == 4 else {}))

    def evaluate(self) -> dict[str, float]:
        """The same evaluation as ``gankit eval``, with the train.eval_* settings."""
        if self.evaluator is None:
            train = self.config.train
            self.evaluator = Evaluator(
                self.eval_data, self.config.data, self.model, train.eval_metrics,
                num_samples=train.eval_samples, seed=train.seed, features=train.eval_features,
            )
        return self.evaluator(self.model)

    def _finish(self, checkpoint: Path) -> TrainResult:
        result = TrainResult(self.run_dir, self.step, checkpoint)
        result.samples = self._save_preview(self.run.samples)
        result.evaluation = self.evaluate()
        if result.evaluation:
            MetricsWriter(self.run_dir, tensorboard=False).write(self.step, result.evaluation, kind="eval")
        if result.evaluation or self.evaluator.skipped:  # the report says why a metric is missing
            write_json(self.run.evaluation, self.evaluator.record(self.step, result.evaluation))
        write_json(self.run.facts, self._run_facts())
        result.report = write_report(self.run_dir)  # draws the loss curves too
        result.losses = self.run.losses if self.run.losses.is_file() else None
        return result

    def _run_facts(self) -> dict[str, Any]:
        """What the report shows about the run itself: time, throughput, device."""
        images = self.step * self.config.train.batch_size * self.dist.world_size
        return {"steps": self.step, "train_seconds": round(self.elapsed, 3), "device": str(self.device),
                "processes": self.dist.world_size, "batch_size": self.config.train.batch_size,
                "steps_per_second": self.step / self.elapsed if self.elapsed else None,
                "examples_per_second": images / self.elapsed if self.elapsed else None}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    write_text(path, json.dumps(payload, indent=2) + "\n")
