"""The style-based generator's figures: ``gankit style-mix``, ``interpolate`` and ``noise`` (StyleGAN)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.commands import Verb, checkpoint_arguments, positive, seed_list
from gankit.outputs import output_file


def _style_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("run", help="run directory of a style-based model (stylegan)")
    sub.add_argument("--out", help="output file (default: a PNG named after the verb inside RUN)")
    sub.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="truncation psi (default 1: off)")
    checkpoint_arguments(sub)


def _style_model(args: argparse.Namespace, images: int):
    """The run's style model, once the ``images`` a figure draws are known to fit in memory."""
    import math

    from gankit import api
    from gankit.memory import check_fits
    from gankit.report.style import require_style_model

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    require_style_model(model)
    check_fits(4 * images * 4 * math.prod(model.data_shape), f"a figure of {images} images",
               "ask for fewer seeds, steps or draws")
    return model


def mix_arguments(mix: argparse.ArgumentParser) -> None:
    _style_arguments(mix)
    mix.add_argument("--rows", default="1-5", metavar="SEEDS", help="source seeds, e.g. 1,2,3 or 1-5 (default 1-5)")
    mix.add_argument("--cols", default="10-15", metavar="SEEDS", help="destination seeds (default 10-15)")
    mix.add_argument("--layers", default="coarse", help="coarse (4-8 px), middle (16-32 px), fine (64 px+) or a-b")


def run_mix(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import style_mixing_grid

    out = output_file(args.out or Path(args.run) / f"style-mix-{args.layers}.png", {".png"})
    rows, cols = seed_list(args.rows, "--rows"), seed_list(args.cols, "--cols")
    model = _style_model(args, images=(len(rows) + 1) * (len(cols) + 1))
    images, nrow = style_mixing_grid(model, rows, cols, args.layers, args.truncation)
    # The top row holds the destinations (column seeds), the left column the sources (row seeds).
    save_image_grid(images, out, nrow=nrow, rows=["dest.", *(f"seed {r}" for r in rows)],
                    cols=["source", *(f"seed {c}" for c in cols)])
    print(f"wrote the style-mixing grid ({args.layers} styles from the rows) to {out}")
    return 0


def interpolate_arguments(interpolate: argparse.ArgumentParser) -> None:
    _style_arguments(interpolate)
    interpolate.add_argument("--space", choices=["z", "w"], default="w", help="latent space (default w)")
    interpolate.add_argument("--steps", type=positive, default=8, help="images per pair of seeds (default 8)")
    interpolate.add_argument("--seeds", default="0,1,2,3", metavar="SEEDS", help="the path, e.g. 0,1,2,3 or 0-3")
    interpolate.add_argument("--gif", action="store_true", help="a looping GIF through the seeds instead of a grid")
    interpolate.add_argument("--latents", metavar="FILES",
                             help="walk between projected images instead: latent files of gankit project, A,B[,...] "
                             "(any generator family)")


def run_interpolate(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import interpolation_frames, interpolation_grid, save_gif

    if args.latents:
        from gankit.commands.latent import run_walk

        return run_walk(args)
    suffix = ".gif" if args.gif else ".png"
    out = output_file(args.out or Path(args.run) / f"interpolate-{args.space}{suffix}", {suffix})
    seeds = seed_list(args.seeds, "--seeds")
    model = _style_model(args, images=len(seeds) * args.steps)
    if args.gif:
        save_gif(interpolation_frames(model, seeds, args.space, args.steps, args.truncation), out)
    else:
        images, nrow = interpolation_grid(model, seeds, args.space, args.steps, args.truncation)
        save_image_grid(images, out, nrow=nrow, rows=[f"{a} to {b}" for a, b in zip(seeds[:-1], seeds[1:])])
    print(f"wrote the {args.space}-space interpolation to {out}")
    return 0


def noise_arguments(noise: argparse.ArgumentParser) -> None:
    _style_arguments(noise)
    noise.add_argument("--seeds", default="0-3", metavar="SEEDS", help="one row per seed (default 0-3)")
    noise.add_argument("--draws", type=positive, default=64, help="noise draws for the standard deviation (default 64)")
    noise.add_argument("--show", type=positive, default=5, help="draws shown per row (default 5)")


def run_noise(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import noise_figure

    out = output_file(args.out or Path(args.run) / "noise.png", {".png"})
    seeds = seed_list(args.seeds, "--seeds")
    model = _style_model(args, images=len(seeds) * (args.draws + args.show + 2))
    images, nrow = noise_figure(model, seeds, args.draws, args.show, truncation=args.truncation)
    save_image_grid(images, out, nrow=nrow, rows=[f"seed {s}" for s in seeds],
                    cols=[*(f"noise {i + 1}" for i in range(args.show)), "no noise", "std"])
    print(f"wrote the noise figure ({args.show} draws, no noise, per-pixel std over {args.draws}) to {out}")
    return 0


STYLE_MIX = Verb(
    "style-mix", "The style-mixing grid: column images restyled by row images at some layers.",
    """examples:
  gankit style-mix runs/style --rows 1-5 --cols 10-15 --layers coarse --out mix-coarse.png
  gankit style-mix runs/style --rows 1,2,3 --cols 7,8 --layers 4-7 --truncation 0.7""",
    mix_arguments, run_mix,
)
INTERPOLATE = Verb(
    "interpolate", "Interpolate between seeds in Z (slerp) or W (lerp), or between projected images (--latents).",
    """examples:
  gankit interpolate runs/style --space w --steps 8 --seeds 0,1,2,3 --out walk.png
  gankit interpolate runs/style --space z --steps 24 --gif --out walk.gif
  gankit interpolate runs/mnist --latents projected/a.safetensors,projected/b.safetensors   # from gankit project""",
    interpolate_arguments, run_interpolate,
)
NOISE = Verb(
    "noise", "Stochastic variation: the same w with different noise, and the per-pixel std.",
    """examples:
  gankit noise runs/style --seeds 0-3 --out noise.png
  gankit noise runs/style --seeds 7 --draws 200 --show 8""",
    noise_arguments, run_noise,
)
