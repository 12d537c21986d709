"""``gankit translate``: translate image files or folders with a trained translation run (CycleGAN)."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, checkpoint_arguments, positive
from gankit.errors import GankitError
from gankit.outputs import output_folder

EXAMPLES = """examples:
  gankit translate runs/facades labels/ --direction a2b --out photos/
  gankit translate runs/facades photo1.jpg photo2.jpg --direction b2a --out maps/ --grid
  gankit translate runs/digits-mnist digit.png --direction a2b --out out/ --size 56 --device cuda"""


def arguments(translate: argparse.ArgumentParser) -> None:
    translate.add_argument("run", help="run directory")
    translate.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    translate.add_argument("--direction", choices=["a2b", "b2a"], required=True,
                           help="a2b: from the spec's first domain to its second; b2a: back")
    translate.add_argument("--out", required=True, metavar="DIR", help="output folder (folder inputs keep their layout)")
    translate.add_argument("--grid", action="store_true",
                           help="write input | translation | reconstruction side by side")
    translate.add_argument("--size", type=positive, help="resize inputs to this size (default: the training size)")
    translate.add_argument("--overwrite", action="store_true",
                           help="allow writing over input files (refused by default, as is --out being an input folder)")
    checkpoint_arguments(translate)


def run(args: argparse.Namespace) -> int:
    out = output_folder(args.out)

    from gankit import api
    from gankit.capabilities import Translator
    from gankit.translation import translate_files

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if not isinstance(model, Translator):
        raise GankitError(f"{model.name} models cannot translate; they {', '.join(model.capabilities())}")
    written = translate_files(model, args.inputs, args.direction, out, grid=args.grid, size=args.size,
                              overwrite=args.overwrite)
    print(f"wrote {len(written)} {'comparisons' if args.grid else 'translations'} ({args.direction}) to {out}")
    return 0


VERB = Verb(
    "translate", "Translate images with a trained translation run (CycleGAN): files or folders in, PNGs out.",
    EXAMPLES, arguments, run,
)
