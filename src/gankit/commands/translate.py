"""``gankit translate``: translate a split of a translation run's own data (CycleGAN), or image files
and folders."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, checkpoint_arguments, positive
from gankit.errors import GankitError
from gankit.outputs import output_folder

NATIVE = "native"

EXAMPLES = """examples:
  gankit translate runs/facades --direction a2b --out photos/        # domain A's test split: unseen in training
  gankit translate runs/facades --direction b2a --split all --out maps/ --grid
  gankit translate runs/facades labels/ --direction a2b --out photos/   # files and folders: every image
  gankit translate runs/facades photo1.jpg photo2.jpg --direction b2a --out maps/ --size native
  gankit translate runs/digits-mnist digit.png --direction a2b --out out/ --size 56 --device cuda"""


def size_argument(text: str) -> int | str:
    """A size in pixels (as ``positive``) or 'native'; argparse reports anything else in one line."""
    if text == NATIVE:
        return text
    if not text.strip().lstrip("+-").isdigit():
        raise argparse.ArgumentTypeError(f"expected a size in pixels or {NATIVE}, got {text!r}")
    return positive(text)


def arguments(translate: argparse.ArgumentParser) -> None:
    translate.add_argument("run", help="run directory")
    translate.add_argument("inputs", nargs="*", metavar="INPUT",
                           help="image files or folders (searched recursively), translated whole; "
                                "none: the run's own data (see --split)")
    translate.add_argument("--direction", choices=["a2b", "b2a"], required=True,
                           help="a2b: from the spec's first domain to its second; b2a: back")
    translate.add_argument("--split", choices=["test", "train", "all"],
                           help="without INPUT, which images of the run's own source domain (A for a2b, B for b2a) "
                                "to translate, split as training split them: test (default: the images training "
                                "never saw), train, or all; refused with INPUT, whose images are all translated")
    translate.add_argument("--out", required=True, metavar="DIR", help="output folder (folders keep their layout)")
    translate.add_argument("--grid", action="store_true",
                           help="write input | translation | reconstruction side by side")
    translate.add_argument("--size", type=size_argument, metavar="N|native",
                           help="N: resize inputs to N x N like training data (shorter side to N, centre crop; "
                                "default: the training size); native: translate each whole image and write it at "
                                "its own width x height (the network runs at the training scale)")
    translate.add_argument("--overwrite", action="store_true",
                           help="allow writing over input files (refused by default, as is --out being an input folder)")
    checkpoint_arguments(translate)


def run(args: argparse.Namespace) -> int:
    if args.inputs and args.split:
        raise GankitError("--split picks images of the run's own data; INPUT files and folders are translated whole "
                          "(leave out INPUT to translate a split of the run's data)")
    out = output_folder(args.out)

    from gankit import api
    from gankit.capabilities import Translator
    from gankit.translation import source_domain, translate_files, translate_split

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if not isinstance(model, Translator):
        raise GankitError(f"{model.name} models cannot translate; they {', '.join(model.capabilities())}")
    options = {"grid": args.grid, "size": args.size, "overwrite": args.overwrite}
    if args.inputs:
        written = translate_files(model, args.inputs, args.direction, out, **options)
        source = ""
    else:
        split = args.split or "test"
        written = translate_split(model, args.direction, out, split=split, **options)
        domain = "A" if args.direction == "a2b" else "B"
        images = "all images" if split == "all" else f"the {split} split"
        source = f" of {images} of domain {domain} ({source_domain(model, args.direction)[0]})"
    kind = "comparisons" if args.grid else "translations"
    print(f"wrote {len(written)} {kind} ({args.direction}){source} to {out}")
    return 0


VERB = Verb(
    "translate",
    "Translate images with a trained translation run (CycleGAN): the run's test images, or files and "
    "folders, in; PNGs out.",
    EXAMPLES, arguments, run,
)
