"""Safe, atomic checkpoints of a run.

A checkpoint is a plain dict (weights, optimizer states, config, step, RNG
and data-order state) written with ``torch.save`` to a temporary file that is
fsynced and then renamed, so a crash never leaves a half-written file under a
checkpoint name. Loading uses ``torch.load(weights_only=True)``, which refuses
to run code from the file.

    save_checkpoint(run_dir / "checkpoints", step=100, payload=state, keep=3)
    path = latest_checkpoint(run_dir / "checkpoints")
    state = load_checkpoint(path)
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError

FORMAT = "gankit.checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.pt$")
_TEMPORARY = re.compile(r"^\.step-\d+\.pt\.tmp-(\d+)$")


class CheckpointVersionError(GankitError):
    """A complete checkpoint in a format this gankit does not read (written by another version)."""


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step-{step:09d}.pt"


def save_checkpoint(directory: Path, step: int, payload: dict[str, Any], keep: int) -> Path:
    """Write ``payload`` atomically as the checkpoint of ``step``; keep the newest ``keep``."""
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory)
    path = checkpoint_path(directory, step)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, **payload}
    try:
        atomic_write(path, lambda f: torch.save(payload, f))
    except OSError as error:
        # The temporary file is gone and no older checkpoint was touched: say so in one line.
        kept = ", ".join(p.name for p in list_checkpoints(directory)) or "none yet"
        raise GankitError(
            f"could not write checkpoint {path}: {error.strerror or error}; the checkpoints saved before "
            f"are kept ({kept})"
        ) from None
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary sibling, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # The rename itself must reach the disk too, or a power cut can undo it.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files left by a writer that was killed (its process is gone):
    they are never taken for checkpoints, but they can be as large as one."""
    for path in directory.iterdir():
        match = _TEMPORARY.match(path.name)
        if match and not _process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def estimated_size(model: torch.nn.Module) -> int:
    """Bytes of one checkpoint of ``model``: its state plus two optimizer moments per
    parameter (Adam's; RMSprop keeps one), before any optimizer state exists."""
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    return state + 2 * parameters


def check_free_space(directory: Path, needed: int) -> None:
    """GankitError when the disk of ``directory`` has less than ``needed`` bytes free."""
    directory = Path(directory)
    existing = next((p for p in (directory, *directory.parents) if p.exists()), Path("."))
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise GankitError(
            f"only {free / 2**20:.1f} MiB free on the disk of {directory}, but one checkpoint needs about "
            f"{needed / 2**20:.1f} MiB; free some space or choose another --out"
        )


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoint files, oldest first (temporary files never match the name)."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint without executing anything stored in it."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # weights_only refuses any global it does not know: that is a file that wants to run code.
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unsafe content"
        raise GankitError(f"{path} is not a safe gankit checkpoint (refused to load: {first})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise GankitError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GankitError(f"{path} is not a gankit checkpoint")
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointVersionError(
            f"{path} has checkpoint format {state.get('format_version')}; "
            f"this gankit reads format {FORMAT_VERSION}"
        )
    return state


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint that loads; a damaged newest file falls back to the one before,
    but one of another format is an error (falling back would silently undo training)."""
    for path in reversed(list_checkpoints(directory)):
        try:
            load_checkpoint(path)
        except CheckpointVersionError:
            raise
        except GankitError:
            continue
        return path
    return None
