"""User-facing errors.

A ``GankitError`` is a mistake in what the user asked for (a bad path, an
unknown key, a corrupt file). The CLI prints it as one line and exits with
status 2; any other exception is a bug and keeps its traceback.
``TrainingInterrupted`` is a stop the user asked for; the CLI exits 128 + signal.
A ``note`` is advice that does not stop anything (a skipped metric, an uncalibrated
detector); the CLI prints it as one line, ``gankit: note: ...``, and any command it
suggests must work as written (``tests/test_hints.py`` runs them).
"""

from __future__ import annotations

import signal
import warnings
from pathlib import Path


class GankitError(Exception):
    """A problem with the user's input, reported without a traceback."""


class TrainingInterrupted(Exception):
    """Raised after a signal stopped training and a checkpoint was saved."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}; checkpoint saved to {checkpoint}")
        self.signum = signum
        self.checkpoint = checkpoint


class GankitWarning(UserWarning):
    """Advice to the user; a Python warning so that library callers can filter or catch it."""


def note(message: str) -> None:
    """Warn with ``message`` (one line; the CLI prints it without a source path)."""
    warnings.warn(one_line(message), GankitWarning, stacklevel=2)


def one_line(text: object) -> str:
    """``text`` as one printable line: what came from files, paths or arguments (a name with an
    escape code, a message with a newline) can never move the cursor or recolour a terminal."""
    flat = " ".join(str(text).splitlines())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
