"""User-facing errors.

A ``GankitError`` is a mistake in what the user asked for (a bad path, an
unknown key, a corrupt file). The CLI prints it as one line and exits with
status 2; any other exception is a bug and keeps its traceback.
``TrainingInterrupted`` is a stop the user asked for; the CLI exits 128 + signal.
"""

from __future__ import annotations

import signal
from pathlib import Path


class GankitError(Exception):
    """A problem with the user's input, reported without a traceback."""


class TrainingInterrupted(Exception):
    """Raised after a signal stopped training and a checkpoint was saved."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}; checkpoint saved to {checkpoint}")
        self.signum = signum
        self.checkpoint = checkpoint
