"""``gankit models``: list the variants, each with its description and what it can do."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, no_arguments


def run(args: argparse.Namespace) -> int:
    from gankit.models import MODELS

    width = max(map(len, MODELS))
    for name, cls in MODELS.items():
        print(f"{name:<{width}}  {cls.description}  [{', '.join(cls.capabilities())}]")
    return 0


VERB = Verb("models", "List the model variants with a one-line description.", "example:\n  gankit models", no_arguments, run)
