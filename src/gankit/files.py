"""The one way gankit writes a file it keeps: atomically, and with a one-line error when the
disk refuses.

Every run file (checkpoints, config.yaml, metrics.jsonl rewrites, eval.json, report.html,
cached feature extractors) goes through ``atomic_write``: the bytes go to a temporary
sibling that is fsynced and renamed over the target, so a crash or a full disk never
leaves a half-written file under the real name and never touches the previous version.

    atomic_write(run_dir / "eval.json", lambda f: f.write(b"{}"))
    write_text(run_dir / "report.html", page)

No torch here: the CLI imports this before it knows whether it will need torch.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gankit.errors import GankitError

# ".NAME.tmp-PID": never matched by a checkpoint's or any other run file's name.
TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")


class WriteFailed(GankitError):
    """A file could not be written (disk full, read-only, over a size limit); the previous
    version of the file, if any, is untouched and no temporary file is left."""

    def __init__(self, path: Path, reason: str) -> None:
        kept = "the previous file is kept" if path.exists() else "nothing was written"
        super().__init__(f"could not write {path}: {reason}; {kept}")
        self.path = path
        self.reason = reason


class _RecordingFile(io.RawIOBase):
    """Passes writes through to ``file`` and remembers the first OSError.

    torch.save reports a failed write (ENOSPC, EFBIG) as ``RuntimeError: [enforce fail at
    inline_container.cc] unexpected pos``; the OSError recorded here is the real reason."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__()
        self.file = file
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            return self.file.write(data)
        except OSError as error:
            self.error = self.error or error
            raise


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in blocks (checkpoints and weights files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary sibling, fsync it, then rename it over ``path``.
    A failed write raises ``WriteFailed`` (one line); other errors pass through. Either way
    the temporary file is removed and ``path`` is as it was."""
    path = Path(path)
    tmp = temporary_path(path)
    recorder: _RecordingFile | None = None
    try:
        with open(tmp, "wb") as raw:
            recorder = _RecordingFile(raw)
            write(recorder)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        cause = recorder.error if recorder is not None and recorder.error else error
        if isinstance(cause, OSError):
            raise WriteFailed(path, cause.strerror or str(cause)) from None
        raise
    # The rename itself must reach the disk too, or a power cut can undo it.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files left by a writer that was killed (its process is gone):
    they are never taken for real files, but they can be as large as a checkpoint."""
    for path in Path(directory).iterdir():
        match = TEMPORARY.match(path.name)
        if match and not process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True
