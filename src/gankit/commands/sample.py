"""``gankit sample``: draw samples from a trained run as a grid, an array or a folder of PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.commands import Verb, checkpoint_arguments, positive, sample_options, seed
from gankit.errors import GankitError
from gankit.outputs import output_file, output_folder

EXAMPLES = """examples:
  gankit sample runs/ring --n 2500 --out ring.png
  gankit sample runs/digits --n 64 --seed 3 --out grid.png
  gankit sample runs/digits --n 1000 --format npy --out samples.npy
  gankit sample runs/digits --n 100 --format folder --out samples/
  gankit sample runs/digits --truncation 0.8       # z pulled towards 0: fewer odd samples, less variety
  gankit sample runs/style --truncation 0.7 --cutoff 4    # stylegan: w pulled towards its mean"""


def arguments(sample: argparse.ArgumentParser) -> None:
    sample.add_argument("run", help="run directory")
    sample.add_argument("--n", type=positive, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=seed, default=0, help="seed of the latents (default 0)")
    sample.add_argument("--out", help="output file or folder (default RUN/sample-seedS.png)")
    sample.add_argument("--format", choices=["png", "npy", "folder"],
                        help="png (default; npy when --out ends in .npy): one grid (a scatter plot for 2-D data); "
                             "npy: an array; folder: one PNG each (npy and folder stream to disk in batches)")
    checkpoint_arguments(sample)
    sample.add_argument("--truncation", type=float, metavar="PSI",
                        help="truncation trick: pull latents towards their mean by PSI (1 = off): z for the GAN family, "
                             "w for stylegan")
    sample.add_argument("--cutoff", type=int, metavar="L",
                        help="truncate only the first L synthesis layers (default: all; stylegan)")


def run(args: argparse.Namespace) -> int:
    fmt = args.format or ("npy" if args.out and Path(args.out).suffix.lower() == ".npy" else "png")
    suffix = {"png": ".png", "npy": ".npy", "folder": ""}[fmt]
    out = Path(args.out) if args.out else Path(args.run) / f"sample{'s' if not suffix else ''}-seed{args.seed}{suffix}"
    out = output_file(out, {suffix}) if suffix else output_folder(out)

    from gankit import api
    from gankit.capabilities import Sampler
    from gankit.sampling import check_sample_request, write_samples

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if not isinstance(model, Sampler):
        raise GankitError(f"{model.name} models cannot sample; they {', '.join(model.capabilities())}")
    options = sample_options(model, truncation=args.truncation, cutoff=args.cutoff)
    check_sample_request(tuple(model.data_shape), args.n, fmt, out)
    write_samples(model, args.n, fmt, out, seed=args.seed, options=options, modes=_modes_of(model))
    print(f"wrote {args.n} samples to {out}")
    return 0


def _modes_of(model):
    """The true modes of a toy run, to draw under its samples."""
    from gankit.data import load_data

    if model.is_image_model:
        return None
    return load_data(model.run_config.data).modes


VERB = Verb("sample", "Draw samples from a trained run.", EXAMPLES, arguments, run)
