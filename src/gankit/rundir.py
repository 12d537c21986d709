"""A run directory and its layout: the one place that names the files of a run, and the
lock that makes one training process its only writer.

    run = RunDirectory("runs/ring")
    run.config            # runs/ring/config.yaml
    with run.lock("train"):
        ...               # a second `gankit train --out runs/ring` gets one line naming this process
    gankit_home()         # $GANKIT_HOME or ~/.cache/gankit: caches of data and feature extractors

No torch here: the CLI and the report use it without loading a model.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from gankit.errors import GankitError


def gankit_home() -> Path:
    """Where downloaded data and trained feature extractors are cached."""
    home = os.environ.get("GANKIT_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "gankit"


class RunLocked(GankitError):
    """Another live process owns the run directory."""


@dataclass(frozen=True)
class RunDirectory:
    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    # --- the layout -----------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def evaluation(self) -> Path:
        return self.path / "eval.json"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def facts(self) -> Path:
        """The finished run's training time, throughput and device, for the report."""
        return self.path / "run.json"

    @property
    def losses(self) -> Path:
        return self.path / "losses.png"

    @property
    def metric_curves(self) -> Path:
        return self.path / "metric_curves.png"

    @property
    def samples(self) -> Path:
        """The final sample grid (a scatter plot for 2-D points)."""
        return self.path / "samples.png"

    @property
    def previews(self) -> Path:
        """The folder of sample grids drawn during training."""
        return self.path / "samples"

    def preview(self, step: int) -> Path:
        return self.previews / f"step-{step:09d}.png"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def normalization(self) -> Path:
        """A detector's calibration statistics (score normalisation and threshold)."""
        return self.path / "normalization.json"

    @property
    def test_scores(self) -> Path:
        """What the run's report shows of its detector's last ``gankit score``."""
        return self.path / "test-scores.json"

    def test_ranked(self, which: str) -> Path:
        """The most or least anomalous test images of that scoring."""
        return self.path / f"test-{which}-anomalous.png"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def lock_file(self) -> Path:
        return self.path / ".lock"

    def default_output(self, name: str) -> Path:
        """Where a verb writes when given no --out (sample grids, style figures)."""
        return self.path / name

    # --- ownership ------------------------------------------------------------------------
    def lock(self, verb: str = "train") -> RunLock:
        return RunLock(self.lock_file, verb)


class RunLock:
    """An exclusive ``flock`` on ``RUN/.lock``, held while a run writes its directory.

    The kernel drops the lock when its process dies, however it dies (kill -9 included), so a
    lock left by a dead process is simply taken over; the file holds the owner's pid, host,
    verb and start time only so that the refusal can name it."""

    def __init__(self, path: Path, verb: str) -> None:
        self.path = path
        self.verb = verb
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise GankitError(f"cannot write to run directory {self.path.parent}: {error.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunLocked(
                    f"{self.path.parent} is in use by {self._holder()}; wait for it to finish or choose another --out"
                ) from None
            # The file may have been removed (by a finishing owner) between open and flock: then this
            # lock is on a file nobody else will see, so open the new one and try again.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "verb": self.verb,
                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(owner) + "\n").encode())
        except OSError as error:
            self.release()
            raise GankitError(f"cannot write to run directory {self.path.parent}: {error.strerror}") from None

    def _holder(self) -> str:
        try:
            owner = json.loads(self.path.read_text())
            return f"gankit {owner['verb']} (pid {owner['pid']} on {owner['host']}, since {owner['since']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another gankit process"

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # before unlocking, so nobody locks a file about to vanish
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
