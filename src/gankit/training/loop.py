"""The one training loop: it drives any variant's ``train_step``.

The loop owns everything around the update itself: device, seeding, the data
stream, budgets (steps, epochs, minutes), the progress bar, scalar logging,
sample grids, in-training evaluation, checkpoints, resume and graceful
interruption (Ctrl-C / SIGTERM save a checkpoint first). Models own only what
happens within one batch.

    trainer = Trainer(config, Path("runs/demo"))
    result = trainer.fit()          # or Trainer(..., resume=True).fit()
    print(result.samples, result.losses)
"""

from __future__ import annotations

import json
import math
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from gankit import __version__
from gankit.config import RunConfig
from gankit.data import BatchStream, Data, load_data
from gankit.errors import GankitError
from gankit.metrics.evaluator import Evaluator
from gankit.models import get_model_class
from gankit.models.base import GANModel
from gankit.report.html import write_report
from gankit.report.plots import plot_losses, save_samples
from gankit.training.checkpoint import (
    check_free_space,
    estimated_size,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from gankit.training.logging import MetricsWriter, RunningMeans, read_metrics

CONFIG_FILE = "config.yaml"
PREVIEW_SEED = 1234  # the same latents in every grid, so grids show progress, not noise


@dataclass
class TrainEndContext:
    """What a model's optional ``on_train_end(context)`` hook gets once the budget is spent:
    enough to load held-out data (calibration) and to write files into the run."""

    config: RunConfig
    run_dir: Path
    device: torch.device
    data: Data  # the training data


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path
    samples: Path | None = None
    losses: Path | None = None
    report: Path | None = None
    evaluation: dict[str, float] = field(default_factory=dict)


class TrainingInterrupted(Exception):
    """Raised after a signal stopped training and a checkpoint was saved."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}; checkpoint saved to {checkpoint}")
        self.signum = signum
        self.checkpoint = checkpoint


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


def build_model(config: RunConfig, data_shape: tuple[int, ...]) -> GANModel:
    return get_model_class(config.model_name)(config.model, tuple(data_shape))


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
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.device = resolve_device(config.train.device)
        self._prepare_run_dir()

    def _prepare_run_dir(self) -> None:
        if self.resume:
            if latest_checkpoint(self.checkpoint_dir) is None:
                raise GankitError(f"{self.run_dir} holds no complete checkpoint to resume from")
        elif (self.run_dir / CONFIG_FILE).exists():
            raise GankitError(
                f"{self.run_dir} already holds a run; resume it with --resume or choose another --out"
            )
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise GankitError(f"cannot write to run directory {self.run_dir}: {error.strerror}") from None
        (self.run_dir / CONFIG_FILE).write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))

    # --- set-up -----------------------------------------------------------------------------
    def _setup(self) -> None:
        train = self.config.train
        seed_everything(train.seed)
        self.data: Data = load_data(self.config.data)
        self.model = build_model(self.config, self.data.shape).to(self.device)
        self.model.optimizers = self.model.configure_optimizers()
        # A disk too full for one checkpoint is known now, not after hours of training.
        check_free_space(self.checkpoint_dir, estimated_size(self.model))
        self.stream = BatchStream(
            self.data,
            train.batch_size,
            seed=train.seed,
            device=self.device,
            num_workers=self.config.data.num_workers,
        )
        self.step = 0
        self.elapsed = 0.0
        self.writer = MetricsWriter(self.run_dir)
        self.evaluator: Evaluator | None = None  # built at the first evaluation, then reused
        if self.resume:
            self._restore(latest_checkpoint(self.checkpoint_dir))

    def _restore(self, path: Path) -> None:
        state = load_checkpoint(path, map_location=self.device)
        if state["model_name"] != self.config.model_name:
            raise GankitError(f"{path} holds a {state['model_name']!r} model, not {self.config.model_name!r}")
        try:
            self.model.load_state_dict(state["model"])
            for name, optimizer in self.model.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
        except (RuntimeError, KeyError, ValueError) as error:
            raise GankitError(f"{path} does not fit this model's configuration: {error}") from None
        self.step = state["step"]
        self.elapsed = state["elapsed_seconds"]
        self.stream.load_state_dict(state["stream"])
        restore_rng(state["rng"])
        self.writer.truncate_after(self.step)
        print(f"resuming {self.run_dir} from step {self.step} ({path.name})")

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
        self._setup()
        train = self.config.train
        total = self._total_steps()
        means = RunningMeans()
        bar = tqdm(total=total, initial=self.step, disable=not train.progress, unit="step", dynamic_ncols=True)
        checkpoint = None
        try:
            with _StopSignals() as stop:
                while not self._done(total):
                    start = time.perf_counter()
                    batch = next(self.stream)
                    logs = self.model.train_step(batch, self.step)
                    self.step += 1
                    self.elapsed += time.perf_counter() - start
                    self._check_finite(logs)
                    means.add(logs)
                    bar.update(1)
                    if self.step % train.log_every == 0:
                        row = means.pop()
                        self.writer.write(self.step, row)
                        bar.set_postfix({k: f"{v:.3g}" for k, v in row.items()}, refresh=False)
                    if self.step % train.sample_every == 0:
                        self._save_preview(self.run_dir / "samples" / f"step-{self.step:09d}.png")
                    if train.eval_every and self.step % train.eval_every == 0:
                        self.writer.write(self.step, self.evaluate(), kind="eval")
                    if self.step % train.checkpoint_every == 0:
                        checkpoint = self._save_checkpoint()
                    if stop.received is not None:
                        checkpoint = checkpoint if self._saved_at(checkpoint) else self._save_checkpoint()
                        raise TrainingInterrupted(stop.received, checkpoint)
        finally:
            bar.close()
            self.writer.close()
        # The hook may change the model's state (calibration buffers), so the final
        # checkpoint is written after it even when one exists for this step.
        hook = getattr(self.model, "on_train_end", None)
        if callable(hook):
            # A hook that draws random numbers (AnoGAN's latent search) must not move the RNG
            # state the checkpoint stores, or a resumed run would continue from another stream.
            rng = capture_rng()
            hook(TrainEndContext(self.config, self.run_dir, self.device, self.data))
            restore_rng(rng)
        if callable(hook) or not self._saved_at(checkpoint):
            checkpoint = self._save_checkpoint()
        return self._finish(checkpoint)

    def _saved_at(self, checkpoint: Path | None) -> bool:
        return checkpoint is not None and checkpoint.name == f"step-{self.step:09d}.pt"

    def _check_finite(self, logs: dict[str, float]) -> None:
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            last = latest_checkpoint(self.checkpoint_dir)
            kept = f"the last good checkpoint is {last}" if last else "no checkpoint was saved yet"
            key, value = next(iter(bad.items()))
            raise GankitError(
                f"{key} became {value} at step {self.step}; training stopped and {kept}. "
                "Lower the learning rate or check the data."
            )

    def _save_checkpoint(self) -> Path:
        payload = {
            "gankit_version": __version__,
            "model_name": self.config.model_name,
            "config": self.config.to_dict(),
            "data_shape": list(self.data.shape),
            "elapsed_seconds": self.elapsed,
            "model": self.model.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.model.optimizers.items()},
            "rng": capture_rng(),
            "stream": self.stream.state_dict(),
        }
        return save_checkpoint(self.checkpoint_dir, self.step, payload, keep=self.config.train.keep_checkpoints)

    def _save_preview(self, path: Path) -> Path:
        generator = torch.Generator().manual_seed(PREVIEW_SEED)
        # A scatter plot of 2-D points needs as many points as the mode metric draws.
        n = self.config.train.num_preview if len(self.data.shape) > 1 else max(self.config.train.num_preview, 2500)
        samples = self.model.preview(n, generator)
        return save_samples(samples, path, self.data.modes, title=f"{self.config.model_name}, step {self.step}")

    def evaluate(self) -> dict[str, float]:
        """The same evaluation as ``gankit eval``, with the train.eval_* settings."""
        if self.evaluator is None:
            train = self.config.train
            self.evaluator = Evaluator(
                self.data, self.config.data, self.model, train.eval_metrics,
                num_samples=train.eval_samples, seed=train.seed, features=train.eval_features,
            )
        return self.evaluator(self.model)

    def _finish(self, checkpoint: Path) -> TrainResult:
        result = TrainResult(self.run_dir, self.step, checkpoint)
        result.samples = self._save_preview(self.run_dir / "samples.png")
        result.evaluation = self.evaluate()
        if result.evaluation:
            MetricsWriter(self.run_dir, tensorboard=False).write(self.step, result.evaluation, kind="eval")
            write_json(self.run_dir / "eval.json", self.evaluator.record(self.step, result.evaluation))
        result.losses = plot_losses(read_metrics(self.run_dir), self.run_dir / "losses.png", self.config.model_name)
        result.report = write_report(self.run_dir)
        return result


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
