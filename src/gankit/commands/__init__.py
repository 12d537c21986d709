"""The verbs of the ``gankit`` command line, one module each (``cli.py`` lists them).

A verb is a :class:`Verb`: its name, one line of help, examples, a function that
declares its arguments and a function that runs it. Parsing (and so ``--help``
and every usage error) imports only this package, ``argparse`` and
``gankit.errors``: a verb's ``run`` imports torch and the rest of gankit itself,
so that nothing heavy is loaded before the arguments are known to be good.

    VERB = Verb("models", "List the model variants.", "example:\\n  gankit models", _no_arguments, run)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

from gankit.errors import GankitError


@dataclass(frozen=True)
class Verb:
    name: str
    help: str  # one line, shown by `gankit --help` and atop `gankit VERB --help`
    examples: str  # the epilog of `gankit VERB --help`
    arguments: Callable[[argparse.ArgumentParser], None]  # declares the verb's arguments
    run: Callable[[argparse.Namespace], int]  # the exit status; imports what it needs


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """For a verb that takes none."""


def seed(text: str) -> int:
    """A seed every RNG takes (numpy: 32 bits); argparse reports anything else in one line."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0..{2**32 - 1}, got {value}")
    return value


def positive(text: str) -> int:
    """A count that must be at least 1 (0 never silently means 'the default')."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


MAX_SEEDS = 10_000  # rows, columns or path points of one figure


def seed_list(text: str, flag: str) -> list[int]:
    """'1,2,3', '0-5' or a mix ('0-2,7') -> a list of seeds."""
    ranges = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, dash, last = part.partition("-")
            ranges.append(range(int(first), int(last) + 1) if dash else range(int(first), int(first) + 1))
    except ValueError:
        raise GankitError(f"{flag} takes seeds like 1,2,3 or 0-5, got {text!r}") from None
    count = sum(map(len, ranges))
    if count > MAX_SEEDS:  # counted before any list is built: '0-999999999' is one line, not a MemoryError
        raise GankitError(f"{flag} names {count:,} seeds; a figure takes at most {MAX_SEEDS:,}")
    seeds = [seed for seeds in ranges for seed in seeds]
    if any(not 0 <= seed < 2**32 for seed in seeds):
        raise GankitError(f"{flag}: seeds must be in 0..{2**32 - 1}")
    if not seeds:
        raise GankitError(f"{flag} names no seed")
    return seeds


def sample_options(model, **options) -> dict:
    """The sampling options the user set (None: not set), passed on only when this model declares
    them (``Sampler.sample_options``); a GankitError names the flags it does not take."""
    from gankit.capabilities import Sampler

    given = {name: value for name, value in options.items() if value is not None}
    flags = ", ".join(f"--{name}" for name in given)
    if given and not isinstance(model, Sampler):
        raise GankitError(f"{model.name} models draw no samples, so they take no {flags}")
    refused = [name for name in given if name not in model.sample_options]
    if refused:
        flags = ", ".join(f"--{name}" for name in refused)
        raise GankitError(f"{model.name} models do not take {flags} (their sample() has no such option)")
    return given


def protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normal-classes", metavar="LIST", help="labelled sets: the normal labels, e.g. 3 (one-class)")
    parser.add_argument("--anomaly-classes", metavar="LIST", help="labelled sets: the anomalous labels, e.g. 3 (one-vs-rest)")


def class_list(text: str | None, flag: str) -> list[int] | None:
    from gankit.config import parse_list  # yaml, not torch

    if text is None:
        return None
    try:
        return [int(c) for c in parse_list(text, flag)]
    except (TypeError, ValueError):
        raise GankitError(f"{flag} expects labels such as 3 or 1,7, got {text!r}") from None


def checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """What a verb that loads a run may change: which checkpoint, and the device."""
    parser.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
