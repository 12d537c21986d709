"""Safe, atomic, typed checkpoints of a run.

A checkpoint is a ``Checkpoint`` (weights, optimizer states, config, step, RNG and
data-order state) stored as a plain dict with ``torch.save``, written atomically
(``gankit.files.atomic_write``). ``load_checkpoint`` is the one reader, used by
every verb (sample, eval, score, translate, the style verbs, resume): it refuses
symlinks, never runs code from the file (``torch.load(weights_only=True)``),
migrates older formats explicitly, and checks every entry (types, a step >= 0,
finite weights). Whatever is wrong is one ``CheckpointError`` line naming the file.

    path = save_checkpoint(run_dir / "checkpoints", checkpoint, keep=3)
    path = latest_checkpoint(run_dir / "checkpoints")
    checkpoint = load_checkpoint(path, model_name="gan")

Format history (``FORMAT_VERSION``):
  1  entries as the loop wrote them, several optional (read back with fall-backs):
     ``rng`` one state or a list per rank; no ``grad_scalers``, ``nan_rollbacks``,
     ``lr_scale`` before those features.
  2  every entry of ``Checkpoint`` present and typed; ``rng`` always a list per rank.
"""

from __future__ import annotations

import errno
import math
import os
import pickle
import re
import stat
import sys
import warnings
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.files import WriteFailed, atomic_write, remove_stale_temporaries
from gankit.memory import check_disk

FORMAT = "gankit.checkpoint"
FORMAT_VERSION = 2
_NAME = re.compile(r"^step-(\d+)\.pt$")


class CheckpointError(GankitError):
    """A checkpoint that cannot be used: missing, a symlink, unsafe, damaged, foreign or malformed."""


class CheckpointVersionError(CheckpointError):
    """A complete checkpoint in a format newer than this gankit reads (written by a later version)."""


@dataclass
class Checkpoint:
    """Everything a run needs to continue, or a verb to rebuild its model (format 2)."""

    step: int
    gankit_version: str
    model_name: str
    config: dict[str, Any]
    data_shape: list[int]
    model: dict[str, torch.Tensor]
    elapsed_seconds: float = 0.0
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    rng: list[dict[str, Any]] = field(default_factory=list)  # one state per rank, rank 0 first
    stream: dict[str, Any] = field(default_factory=dict)
    grad_scalers: dict[str, dict[str, Any]] = field(default_factory=dict)
    nan_rollbacks: int = 0
    lr_scale: float = 1.0

    def payload(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it would deep-copy every tensor.
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **{f.name: getattr(self, f.name) for f in fields(self)}}


# Each entry's type as stored (format 2).
_TYPES: dict[str, type | tuple[type, ...]] = {
    "step": int, "gankit_version": str, "model_name": str, "config": dict, "data_shape": list, "model": dict,
    "elapsed_seconds": (int, float), "optimizers": dict, "rng": list, "stream": dict, "grad_scalers": dict,
    "nan_rollbacks": int, "lr_scale": (int, float),
}


def _migrate_1_to_2(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1 read its optional entries with fall-backs; format 2 stores them all."""
    defaults = {"gankit_version": "unknown (format 1)", "elapsed_seconds": 0.0, "grad_scalers": {},
                "nan_rollbacks": 0, "lr_scale": 1.0}
    state = {**defaults, **state}
    if isinstance(state.get("rng"), dict):  # written before torchrun support: one process's state
        state["rng"] = [state["rng"]]
    state["format_version"] = 2
    return state


MIGRATIONS = {1: _migrate_1_to_2}  # format N -> N + 1, applied in order up to FORMAT_VERSION


def checkpoint_path(directory: Path, step: int) -> Path:
    return Path(directory) / f"step-{step:09d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Files named like checkpoints, oldest first (temporary files never match the name);
    complete or not: ``latest_checkpoint`` and rotation check them."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(directory: Path, checkpoint: Checkpoint, keep: int) -> Path:
    """Write ``checkpoint`` atomically as the checkpoint of its step; keep the newest ``keep``
    complete ones. A damaged file is never counted, never deleted, and never makes this delete
    a good one: only files that load are rotated, and the one just written is always kept."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory)
    path = checkpoint_path(directory, checkpoint.step)
    payload = checkpoint.payload()
    try:
        atomic_write(path, lambda f: torch.save(payload, f))
    except WriteFailed as failed:
        complete = [p.name for p in list_checkpoints(directory) if _is_complete(p)]
        kept = ", ".join(complete) or "none yet"
        raise CheckpointError(
            f"could not write checkpoint {path}: {failed.reason}; the checkpoints saved before are kept ({kept})"
        ) from None
    _verified[path] = _identity(path)  # this process wrote it and it was fsynced
    complete = [p for p in list_checkpoints(directory) if p == path or _is_complete(p)]
    for old in complete[: -max(keep, 1)]:
        if old != path:
            old.unlink(missing_ok=True)
    return path


# Files found complete, by (size, mtime): each is read once per process, not at every save.
_verified: dict[Path, tuple[int, int]] = {}


def _identity(path: Path) -> tuple[int, int]:
    stat = os.lstat(path)
    return stat.st_size, stat.st_mtime_ns


def _is_complete(path: Path) -> bool:
    try:
        if _verified.get(path) == _identity(path):
            return True
        load_checkpoint(path)
    except CheckpointVersionError:
        return True  # complete, of a newer gankit: never a candidate for deletion by this one
    except (CheckpointError, OSError):
        return False
    _verified[path] = _identity(path)
    return True


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint that loads. A damaged or refused newer file is skipped with a
    note on stderr naming it and why; one of a newer format is an error (falling back would
    silently undo training). None when no file loads; ``refused_checkpoints`` then says why."""
    skipped = []
    for path in reversed(list_checkpoints(directory)):
        reason = _refusal(path)
        if reason is None:
            for name, why in skipped:
                print(f"gankit: note: skipped {name}: {why}", file=sys.stderr)
            return path
        skipped.append((path, reason))
    return None


def refused_checkpoints(directory: Path) -> str:
    """Why no checkpoint in ``directory`` is usable, in a few words (for the error that follows)."""
    names = list_checkpoints(directory)
    if not names:
        return "none saved yet"
    return "; ".join(f"{p.name} refused ({_refusal(p)})" for p in names[-3:])


def _refusal(path: Path) -> str | None:
    try:
        load_checkpoint(path)
    except CheckpointVersionError:
        raise
    except CheckpointError as error:
        return str(error).removeprefix(f"{path} ").removeprefix(f"{path}: ")
    return None


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu", *, model_name: str | None = None) -> Checkpoint:
    """The one checkpoint reader: safe, migrated, checked. ``model_name``: the variant the
    caller's run trains; a checkpoint of another is refused."""
    path = Path(path)
    state = _read(path, map_location)
    version = state.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path} is not a gankit checkpoint (format version {version!r})")
    if version > FORMAT_VERSION:
        raise CheckpointVersionError(
            f"{path} has checkpoint format {version}; this gankit reads format {FORMAT_VERSION} and older "
            f"(written by gankit {str(state.get('gankit_version', 'unknown'))[:40]}: upgrade gankit)"
        )
    while version < FORMAT_VERSION:
        state = MIGRATIONS[version](state)
        version = state["format_version"]
    checkpoint = _typed(path, state)
    if model_name is not None and checkpoint.model_name != model_name:
        raise CheckpointError(f"{path} holds a {checkpoint.model_name!r} model, not {model_name!r}")
    return checkpoint


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    # Symlinks are refused, not followed: a link in a run can point anywhere (another run's file
    # that its rotation deletes, a system file), and a run's checkpoints are its own files.
    # O_NOFOLLOW makes the check and the open one step.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not hang the open
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise CheckpointError(
                f"{path} is a symbolic link (to {os.readlink(path)}); gankit reads only checkpoint files "
                "themselves: copy the file instead"
            ) from None
        if error.errno == errno.ENOENT:
            raise CheckpointError(f"checkpoint not found: {path}") from None
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(f"{path} is not a checkpoint file (not a regular file)")
    with os.fdopen(fd, "rb") as f:
        try:
            with warnings.catch_warnings():  # torch's warnings about odd pickle protocols are not for users
                warnings.simplefilter("ignore")
                state = torch.load(f, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            # weights_only refuses any global it does not know: a file that wants to run code.
            # torch's message advises how to load it anyway; that advice is never passed on.
            found = re.search(r"GLOBAL ([\w.]+)", str(error))
            what = f"it would call {found.group(1)}" if found else "it holds Python objects beyond tensors"
            raise CheckpointError(
                f"{path} is refused: loading it would run code from the file ({what}); "
                "gankit loads only weights, and never unpickles such files"
            ) from None
        except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, IndexError, KeyError,
                TypeError, AttributeError, UnicodeDecodeError, MemoryError, OverflowError) as error:
            # A damaged or truncated file can break torch's reader at many points; none of them is
            # a bug of ours, all are "not a readable checkpoint".
            raise CheckpointError(f"{path} is not a readable checkpoint (damaged or truncated: "
                                  f"{type(error).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gankit checkpoint")
    return state


def _typed(path: Path, state: dict[str, Any]) -> Checkpoint:
    values = {}
    for name, kind in _TYPES.items():
        if name not in state:
            raise CheckpointError(f"{path} lacks {name!r}: it is not a complete checkpoint of a gankit run")
        value = state[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{path}: entry {name!r} is a {type(value).__name__}, not what gankit writes")
        values[name] = value
    if values["step"] < 0:
        raise CheckpointError(f"{path} claims step {values['step']}; a step is never negative")
    if not values["data_shape"] or not all(isinstance(d, int) and 0 < d <= 1 << 16 for d in values["data_shape"]):
        raise CheckpointError(f"{path}: data_shape {values['data_shape']!r} is not a shape")
    if not all(isinstance(s, dict) for s in values["rng"]):
        raise CheckpointError(f"{path}: entry 'rng' is not a list of random states")
    if not math.isfinite(values["elapsed_seconds"]) or not math.isfinite(values["lr_scale"]):
        raise CheckpointError(f"{path}: elapsed_seconds and lr_scale must be finite")
    for name, tensor in values["model"].items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: the model's weights hold a {type(tensor).__name__} under {name!r}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: weight {name} holds NaN or infinite values; gankit never uses such a file")
    return Checkpoint(**values)


def estimated_size(model: torch.nn.Module) -> int:
    """Bytes of one checkpoint of ``model``: its state plus two optimizer moments per
    parameter (Adam's; RMSprop keeps one), before any optimizer state exists."""
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    return state + 2 * parameters


def check_free_space(directory: Path, needed: int) -> None:
    """GankitError when the disk of ``directory`` has less than ``needed`` bytes free."""
    check_disk(directory, needed, "one checkpoint (free some space or choose another --out)")
