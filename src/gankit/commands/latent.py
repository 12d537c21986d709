"""``gankit project`` and ``gankit inpaint`` (docs/latent.md), and the walk between projected images
behind ``gankit interpolate --latents``.

    gankit project runs/style photos/ --out projected/ --space w+
    gankit interpolate runs/style --latents projected/a.safetensors,projected/b.safetensors --out walk.png
    gankit inpaint runs/mnist digits/ --mask center:0.4 --out filled/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.commands import Verb, checkpoint_arguments, positive, seed
from gankit.outputs import output_file, output_folder


PROJECT_EXAMPLES = """examples:
  gankit project runs/style photos/ --out projected/                 # StyleGAN: w space by default
  gankit project runs/style face.png --out projected/ --space w+ --steps 1000
  gankit project runs/mnist digits/ --out projected/ --loss l1 --restarts 4
  gankit interpolate runs/style --latents projected/a.safetensors,projected/b.safetensors --out walk.png

Writes per image NAME.safetensors (the latent), NAME-projection.png and NAME-pair.png
(input | projection), and projection.csv with the final losses. The loss is pixel L2 (or L1)
plus the discriminator's feature distance, plus LPIPS with --lpips vgg16-397923af.pth (a file
you fetch yourself: gankit never downloads)."""

INPAINT_EXAMPLES = """examples:
  gankit inpaint runs/mnist digits/ --mask center:0.4 --out filled/
  gankit inpaint runs/mnist digits/ --mask random-boxes:3 --seed 1 --out filled/
  gankit inpaint runs/faces photo.png --mask hole.png --out filled/            # white = missing
  gankit inpaint runs/faces photos/ --mask masks/ --out filled/ --blend alpha  # masks/NAME.png per image

Writes per image NAME-filled.png (known pixels bit-identical to the input at the model's size),
NAME-raw.png (the generator's whole image) and NAME-grid.png (input with hole | fill | original),
and inpaint.csv."""


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    search = parser.add_argument_group("latent search (StyleGAN2's projector schedule)")
    search.add_argument("--steps", type=positive, default=300, help="Adam steps (default 300)")
    search.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
    search.add_argument("--restarts", type=positive, default=1, help="random starts; each image keeps its best (default 1)")
    search.add_argument("--noise-regularization", type=float, default=1e5,
                        help="StyleGAN noise maps' autocorrelation penalty (default 1e5, the projector's)")
    search.add_argument("--seed", type=seed, default=0, help="seed of the starts (default 0)")
    search.add_argument("--batch-size", type=positive, default=64, help="images searched together (default 64)")
    search.add_argument("--no-progress", action="store_true", help="no progress bar")
    checkpoint_arguments(parser)


def project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory of gan, wgan, wgan_gp, stylegan, anogan, egbad, ganomaly, fanogan or alad")
    parser.add_argument("inputs", nargs="+", metavar="IMAGES", help="image files or folders (searched recursively)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--space", choices=["z", "w", "w+"], help="latent space (default: w for stylegan, else z)")
    parser.add_argument("--loss", choices=["l2", "l1"], default="l2", help="pixel loss (default l2)")
    parser.add_argument("--feature-weight", type=float, default=0.1,
                        help="weight of the discriminator-feature distance (default 0.1; 0 = pixels only)")
    parser.add_argument("--lpips", metavar="FILE",
                        help="add LPIPS (the projector's distance) with torchvision's VGG16 weights file "
                        "vgg16-397923af.pth, hash-checked, never downloaded; needs pip install 'gankit[lpips]'")
    _search_arguments(parser)


def inpaint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory of gan, wgan, wgan_gp, stylegan, anogan, egbad, ganomaly, fanogan or alad")
    parser.add_argument("inputs", nargs="+", metavar="IMAGES", help="image files or folders (searched recursively)")
    parser.add_argument("--mask", required=True, metavar="MASK_OR_DIR",
                        help="a mask for all images, a folder of masks named like the images (white = missing), "
                        "or generated: center:FRACTION (of the area), random-boxes:COUNT, lines")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--space", choices=["z", "w", "w+"], help="latent space (default: w for stylegan, else z)")
    parser.add_argument("--prior-weight", type=float, default=0.003,
                        help="lambda: weight of the discriminator's prior loss (default 0.003, Yeh et al.)")
    parser.add_argument("--context", choices=["weighted", "uniform"], default="weighted",
                        help="weighted (default): known pixels count by how much hole is around them (Yeh et al.); "
                        "uniform: all known pixels count alike")
    parser.add_argument("--blend", choices=["poisson", "alpha"], default="poisson",
                        help="poisson (default): the fill's gradients, seamless at the hole's edge; alpha: paste as is")
    parser.add_argument("--no-original", action="store_true",
                        help="grids without the original column (when the input's hole holds nothing to compare with)")
    _search_arguments(parser)


def _load(args: argparse.Namespace):
    from gankit import api

    return api.load(args.run, checkpoint=args.checkpoint, device=args.device)


def _options(args: argparse.Namespace):
    from gankit.latent.search import projector_options

    return projector_options(steps=args.steps, lr=args.lr, restarts=args.restarts, seed=args.seed,
                              noise_regularization=args.noise_regularization, progress=not args.no_progress)


def _space(model, space: str | None) -> str:
    from gankit.latent.space import default_space as model_default

    return space or model_default(model)


def run_project(args: argparse.Namespace) -> int:
    output_folder(args.out)

    from gankit.latent.project import project_files

    lpips = None
    if args.lpips:
        from gankit.latent.perceptual import load_lpips

        lpips = load_lpips(args.lpips)
    model = _load(args)
    space = _space(model, args.space)
    rows = project_files(model, args.inputs, args.out, space=space, batch_size=args.batch_size, pixel=args.loss,
                         feature_weight=args.feature_weight, lpips=lpips, options=_options(args))
    losses = [float(r["loss"]) for r in rows]
    print(f"projected {len(rows)} images into {space} (mean loss {sum(losses) / len(losses):.4g}) -> {args.out}")
    print(f"summary: {Path(args.out) / 'projection.csv'}")
    return 0


def run_inpaint(args: argparse.Namespace) -> int:
    output_folder(args.out)

    from gankit.latent.inpaint import inpaint_files

    model = _load(args)
    rows = inpaint_files(
        model, args.inputs, args.mask, args.out, space=_space(model, args.space), batch_size=args.batch_size,
        prior_weight=args.prior_weight, context=args.context, blend=args.blend, original=not args.no_original,
        options=_options(args),
    )
    print(f"inpainted {len(rows)} images ({args.blend} blending) -> {args.out}")
    print(f"summary: {Path(args.out) / 'inpaint.csv'}")
    return 0


def run_walk(args: argparse.Namespace) -> int:
    """``gankit interpolate RUN --latents A,B,...``: a grid walking between projected real images."""
    suffix = ".gif" if args.gif else ".png"
    out = output_file(args.out or Path(args.run) / f"interpolate-latents{suffix}", {suffix})
    from gankit.latent.project import latent_walk, load_latent
    from gankit.report.plots import save_image_grid

    from gankit.report.style import save_gif

    files = [load_latent(p.strip()) for p in args.latents.split(",") if p.strip()]
    model = _load(args)
    images = latent_walk(model, files, args.steps)  # one row of --steps images per pair
    if args.gif:
        save_gif(images, out)
    else:
        save_image_grid(images, out, nrow=args.steps)
    print(f"wrote the walk through {len(files)} projected images ({files[0].space} space) to {out}")
    return 0


PROJECT = Verb(
    "project", "Project real images into a generator's latent space (GAN inversion): latents, reconstructions, losses.",
    PROJECT_EXAMPLES, project_arguments, run_project,
)
INPAINT = Verb(
    "inpaint", "Fill masked regions of images by a latent search (Yeh et al. 2017), blended into the known pixels.",
    INPAINT_EXAMPLES, inpaint_arguments, run_inpaint,
)
