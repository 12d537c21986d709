"""The ``gankit`` command line: one verb per job, each with an example in --help.

    gankit train gan --data digits --minutes 2
    gankit sample runs/gan-digits-... --n 64 --out grid.png
    gankit translate runs/cyclegan-... photos/ --direction a2b --out translated/
    gankit eval runs/wgan_gp-toy-...
    gankit score runs/ganomaly-mnist-... --out scores.csv --maps maps/

A verb is a module in ``gankit/commands/`` and one entry in ``VERBS``. Parsing
imports no torch, so ``--help`` and usage errors answer at once; a verb's
``run`` imports what it needs.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
import warnings

from gankit import __version__
from gankit.commands import (
    Verb, data, evaluate, export, features, latent, models, report, sample, score, serve, style, train,
    translate,
)
from gankit.errors import GankitError, GankitWarning, TrainingInterrupted, one_line

VERBS: tuple[Verb, ...] = (
    train.VERB,
    sample.VERB,
    style.STYLE_MIX,
    style.INTERPOLATE,
    style.NOISE,
    translate.VERB,
    evaluate.VERB,
    features.VERB,
    report.VERB,
    score.VERB,
    latent.PROJECT,
    latent.INPAINT,
    export.VERB,
    serve.VERB,
    models.VERB,
    data.VERB,
)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line, like every other gankit error (the usage is one --help away)."""

    def error(self, message: str) -> None:
        self.exit(2, f"gankit: error: {one_line(message)} (see '{self.prog} --help')\n")


class _VerbParser(_OneLineParser):
    """A verb's parser, which takes positionals after options too: ``gankit translate RUN --out DIR
    *.jpg`` (plain parsing fills an optional list, nargs="*", at the first positional it meets and
    refuses the rest as unrecognized)."""

    _parsing = False  # parse_known_intermixed_args calls parse_known_args itself

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201
        if self._parsing:
            return super().parse_known_args(args, namespace)
        self._parsing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="gankit",
        description="Generate, translate and detect anomalies with the GAN family ('gankit models' lists the "
        "variants and their jobs), on a CPU, one GPU or many (torchrun).",
        epilog="Run 'gankit VERB --help' for the options and examples of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True, parser_class=_VerbParser)
    for verb in VERBS:
        sub = subparsers.add_parser(
            verb.name, help=verb.help, description=verb.help, epilog=verb.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
        verb.arguments(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings as one line each, without Python's source path: gankit's own notes, and a
    library's warnings named by category."""
    label = "note" if issubclass(category, GankitWarning) else f"warning ({category.__name__})"
    print(f"gankit: {label}: {one_line(message)}", file=sys.stderr)


# An OSError about a path the user gave (a name too long, a folder that is a file, no permission)
# is bad input too, wherever it surfaces; any other OSError is a bug and keeps its traceback.
PATH_ERRORS = {errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM,
               errno.ELOOP, errno.EROFS, errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return next(verb for verb in VERBS if verb.name == args.verb).run(args)
    except (GankitError, OSError) as error:
        if isinstance(error, OSError) and (error.filename is None or error.errno not in PATH_ERRORS):
            raise
        if args.debug:
            traceback.print_exc()
        text = error if isinstance(error, GankitError) else f"{error.filename}: {error.strerror}"
        print(f"gankit: error: {one_line(text)}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:
        print(f"gankit: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
