"""``gankit data``: show what a data spec resolves to, with a preview."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, class_list, seed
from gankit.outputs import output_file

EXAMPLES = """examples:
  gankit data digits --preview digits.png
  gankit data mnist:../shared/data/mnist --classes 3,5 --split test
  gankit data folder:photos/ --size 64 --channels 3
  gankit data toy:grid25 --preview grid.png
  gankit data unpaired:photos/summer,photos/winter --size 128 --channels 3
  gankit data "unpaired:mnist[classes=3],mnist[classes=5]" --preview 3-5.png"""


def arguments(data: argparse.ArgumentParser) -> None:
    data.add_argument(
        "spec",
        help="digits | toy:ring8 | toy:grid25 | mnist[:DIR] | fashion-mnist[:DIR] | folder:DIR | unpaired:A,B | "
        "defects:DIR | magnetic-tile:DIR",
    )
    data.add_argument("--size", type=int, help="image size in pixels (square)")
    data.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB")
    data.add_argument("--classes", help="keep only these labels, e.g. 3,5")
    data.add_argument("--split", choices=["train", "test"], default="train")
    data.add_argument("--seed", type=seed, default=0)
    data.add_argument("--preview", metavar="FILE", help="write a preview grid (scatter plot for points)")


def run(args: argparse.Namespace) -> int:
    out = output_file(args.preview, {".png"}, "--preview") if args.preview else None
    classes = class_list(args.classes, "--classes")

    from gankit.config import DataConfig
    from gankit.data import describe, load_data, preview_grid
    from gankit.data.specs import check_given
    from gankit.report.plots import plot_points, save_image_grid

    options = {"image_size": args.size, "channels": args.channels, "classes": classes}
    config = DataConfig(spec=args.spec, split=args.split, seed=args.seed, **options)
    data = load_data(check_given(config, [key for key, value in options.items() if value is not None]))
    print(describe(data))
    if out is not None:
        if data.kind == "points":
            plot_points(data.x[:2500], out, data.modes, title=data.name)
        else:
            save_image_grid(preview_grid(data, 64, seed=args.seed), out)
        print(f"preview: {out}")
    return 0


VERB = Verb("data", "Show what a data spec resolves to: count, shape, classes, and a preview.", EXAMPLES, arguments, run)
