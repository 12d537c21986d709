"""The ``gankit`` command line: one verb per job, each with an example in --help.

    gankit train gan --data digits --minutes 2
    gankit sample runs/gan-digits-... --n 64 --out grid.png
    gankit translate runs/cyclegan-... photos/ --direction a2b --out translated/
    gankit eval runs/wgan_gp-toy-...
    gankit score runs/ganomaly-mnist-... --out scores.csv --maps maps/
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

EXAMPLES = {
    "train": """examples:
  gankit train gan                                   # digits, the packaged defaults
  gankit train wgan_gp --data toy:ring8 --steps 3000 --out runs/ring
  gankit train gan --data mnist:../shared/data/mnist --set data.image_size=32 --minutes 10
  gankit train --resume runs/ring --steps 6000       # continue to a larger budget
  gankit train wgan_gp --precision bf16 --channels-last         # autocast; NHWC tensors
  torchrun --nproc_per_node 4 -m gankit train stylegan --out runs/sg   # DDP, one process per GPU
  gankit train gan --set train.on_nan=rollback       # a NaN loss reloads the last checkpoint, lr x0.5""",
    "sample": """examples:
  gankit sample runs/ring --n 2500 --out ring.png
  gankit sample runs/digits --n 64 --seed 3 --out grid.png
  gankit sample runs/digits --n 1000 --format npy --out samples.npy
  gankit sample runs/digits --n 100 --format folder --out samples/
  gankit sample runs/style --truncation 0.7 --cutoff 4    # models whose sample() takes psi (stylegan)""",
    "style-mix": """examples:
  gankit style-mix runs/style --rows 1-5 --cols 10-15 --layers coarse --out mix-coarse.png
  gankit style-mix runs/style --rows 1,2,3 --cols 7,8 --layers 4-7 --truncation 0.7""",
    "interpolate": """examples:
  gankit interpolate runs/style --space w --steps 8 --seeds 0,1,2,3 --out walk.png
  gankit interpolate runs/style --space z --steps 24 --gif --out walk.gif""",
    "noise": """examples:
  gankit noise runs/style --seeds 0-3 --out noise.png
  gankit noise runs/style --seeds 7 --draws 200 --show 8""",
    "translate": """examples:
  gankit translate runs/facades labels/ --direction a2b --out photos/
  gankit translate runs/facades photo1.jpg photo2.jpg --direction b2a --out maps/ --grid
  gankit translate runs/digits-mnist digit.png --direction a2b --out out/ --size 56 --device cuda""",
    "eval": """examples:
  gankit eval runs/ring                   # mode coverage for toy mixtures, writes RUN/eval.json
  gankit eval runs/ring --n 2500 --seed 1
  gankit features train --data mnist:../shared/data/mnist          # once per data set and size
  gankit eval runs/mnist --metrics fid,kid,pr,cls --features classifier --n 10000
  gankit eval runs/mnist --data mnist:../shared/data/mnist --set data.split=test

Every score is printed beside its floor: the same metric between two disjoint
halves of the real data with as many examples (a perfect generator's score).""",
    "features": """examples:
  gankit features train --data mnist:../shared/data/mnist            # 28 px, ~3 epochs, a few minutes on CPU
  gankit features train --data fashion-mnist:../shared/data/fashion-mnist --size 32
  gankit features list                                               # cached extractors and their test accuracy
  gankit features inception --weights weights-inception-2015-12-05-6726825d.pth
  gankit features inception --download                               # needs network access""",
    "report": """examples:
  gankit report runs/ring                  # writes runs/ring/report.html
  gankit report runs/ring --out ring.html""",
    "score": """examples:
  gankit train ganomaly --data mnist:../shared/data/mnist --set data.anomaly_classes=3 --out runs/g3
  gankit score runs/g3 --out scores.csv                   # the run's own protocol, its test part
  gankit score runs/g3 --out scores.csv --maps maps/ --quantile 0.95
  gankit score runs/tile --data magnetic-tile:../shared/data/magnetic-tile --out tile.csv --maps maps/
  gankit score runs/g3 --data mnist:../shared/data/mnist --anomaly-classes 5 --out five.csv""",
    "models": """example:
  gankit models""",
    "data": """examples:
  gankit data digits --preview digits.png
  gankit data mnist:../shared/data/mnist --classes 3,5 --split test
  gankit data folder:photos/ --size 64 --channels 3
  gankit data toy:grid25 --preview grid.png
  gankit data unpaired:photos/summer,photos/winter --size 128 --channels 3
  gankit data "unpaired:mnist[classes=3],mnist[classes=5]" --preview 3-5.png""",
}


def _seed(text: str) -> int:
    """A seed every RNG takes (numpy: 32 bits); argparse reports anything else in one line."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= seed < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0..{2**32 - 1}, got {seed}")
    return seed


def _parser() -> argparse.ArgumentParser:
    from gankit import __version__

    parser = argparse.ArgumentParser(
        prog="gankit",
        description="Generate (GAN, WGAN, WGAN-GP, StyleGAN), translate (CycleGAN) and detect anomalies "
        "(AnoGAN, EGBAD, GANomaly, f-AnoGAN) with GANs, on a CPU, one GPU or many (torchrun).",
        epilog="Run 'gankit VERB --help' for the options and examples of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(
            name, help=help_text, description=help_text, epilog=EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
        return sub

    train = verb("train", "Train a model; writes a run directory with checkpoints, samples and metrics.")
    train.add_argument("model", nargs="?", help="model name (see 'gankit models')")
    train.add_argument("--resume", metavar="RUN", help="continue RUN from its latest checkpoint")
    train.add_argument("--data", metavar="SPEC", help="data spec (see 'gankit data --help'); default per model")
    budget = train.add_argument_group("budget (the first one reached stops training)")
    budget.add_argument("--steps", type=int, help="number of batches (train_step calls)")
    budget.add_argument("--epochs", type=float, help="passes over the data")
    budget.add_argument("--minutes", type=float, help="wall-clock minutes of training")
    train.add_argument("--config", metavar="FILE", help="YAML file with data/train/model sections")
    train.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
        help="override one setting, e.g. --set model.latent_dim=32 --set data.image_size=32 (repeatable)",
    )
    train.add_argument("--out", metavar="DIR", help="run directory (default: runs/MODEL-DATA-TIME)")
    train.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    train.add_argument("--seed", type=_seed, help="random seed (default 0)")
    train.add_argument("--batch-size", type=int, help="examples per batch")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    speed = train.add_argument_group("speed (docs/BENCHMARKS.md measures each)")
    speed.add_argument("--precision", choices=["32", "bf16", "16-mixed"],
                       help="32 (default); bf16 or 16-mixed autocast (fp16 with loss scaling)")
    speed.add_argument("--channels-last", action="store_true", help="NHWC memory format for image networks")
    speed.add_argument("--compile", action="store_true", help="torch.compile the trained networks")
    _protocol_arguments(train)

    sample = verb("sample", "Draw samples from a trained run.")
    sample.add_argument("run", help="run directory")
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=_seed, default=0, help="seed of the latents (default 0)")
    sample.add_argument("--out", help="output file or folder (default RUN/sample-seedS.png)")
    sample.add_argument("--format", choices=["png", "npy", "folder"], default="png",
                        help="png: one grid (a scatter plot for 2-D data); npy: an array; folder: one PNG each")
    sample.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
    sample.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    sample.add_argument("--truncation", type=float, metavar="PSI",
                        help="truncation trick: pull latents towards the mean by PSI (1 = off; stylegan)")
    sample.add_argument("--cutoff", type=int, metavar="L",
                        help="truncate only the first L synthesis layers (default: all; stylegan)")

    def style_verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = verb(name, help_text)
        sub.add_argument("run", help="run directory of a style-based model (stylegan)")
        sub.add_argument("--out", help="output file (default: a PNG named after the verb inside RUN)")
        sub.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="truncation psi (default 1: off)")
        sub.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
        sub.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
        return sub

    mix = style_verb("style-mix", "The style-mixing grid: column images restyled by row images at some layers.")
    mix.add_argument("--rows", default="1-5", metavar="SEEDS", help="source seeds, e.g. 1,2,3 or 1-5 (default 1-5)")
    mix.add_argument("--cols", default="10-15", metavar="SEEDS", help="destination seeds (default 10-15)")
    mix.add_argument("--layers", default="coarse", help="coarse (4-8 px), middle (16-32 px), fine (64 px+) or a-b")

    interpolate = style_verb("interpolate", "Interpolate between seeds in Z (slerp) or W (lerp): a grid or a GIF.")
    interpolate.add_argument("--space", choices=["z", "w"], default="w", help="latent space (default w)")
    interpolate.add_argument("--steps", type=int, default=8, help="images per pair of seeds (default 8)")
    interpolate.add_argument("--seeds", default="0,1,2,3", metavar="SEEDS", help="the path, e.g. 0,1,2,3 or 0-3")
    interpolate.add_argument("--gif", action="store_true", help="a looping GIF through the seeds instead of a grid")

    noise = style_verb("noise", "Stochastic variation: the same w with different noise, and the per-pixel std.")
    noise.add_argument("--seeds", default="0-3", metavar="SEEDS", help="one row per seed (default 0-3)")
    noise.add_argument("--draws", type=int, default=64, help="noise draws for the standard deviation (default 64)")
    noise.add_argument("--show", type=int, default=5, help="draws shown per row (default 5)")

    translate = verb("translate", "Translate images with a trained translation run (CycleGAN): files or folders in, PNGs out.")
    translate.add_argument("run", help="run directory")
    translate.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    translate.add_argument("--direction", choices=["a2b", "b2a"], required=True,
                           help="a2b: from the spec's first domain to its second; b2a: back")
    translate.add_argument("--out", required=True, metavar="DIR", help="output folder (folder inputs keep their layout)")
    translate.add_argument("--grid", action="store_true",
                           help="write input | translation | reconstruction side by side")
    translate.add_argument("--size", type=int, help="resize inputs to this size (default: the training size)")
    translate.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
    translate.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

    evaluate = verb("eval", "Evaluate a trained run; prints a table and writes RUN/eval.json.")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--metrics", help="comma-separated: modes, fid, kid, pr, cls (default: all that apply)")
    evaluate.add_argument("--features", default="auto",
                          help="auto (default: a cached classifier, else cached InceptionV3), classifier or inception")
    evaluate.add_argument("--data", metavar="SPEC", help="real data to compare with (default: the run's own)")
    evaluate.add_argument(
        "--set", metavar="data.KEY=VALUE", action="append", default=[], dest="overrides",
        help="change the real data's settings, e.g. --set data.split=test (repeatable)",
    )
    evaluate.add_argument("--n", type=int, help="samples to draw (default: the run's train.eval_samples, 2500)")
    evaluate.add_argument("--seed", type=_seed, default=0, help="seed of the samples and the real halves (default 0)")
    evaluate.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

    features = verb("features", "Train, install or list the feature extractors behind FID, KID, PR and cls.")
    features.add_argument("action", choices=["train", "list", "inception"],
                          help="train: the classifier on a labelled data set; list: the cache; "
                               "inception: install the InceptionV3 weights")
    features.add_argument("--data", metavar="SPEC", help="labelled image data (train)")
    features.add_argument("--size", type=int, help="image size in pixels, as the runs use it (train)")
    features.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB (train)")
    features.add_argument("--epochs", type=int, help="training epochs (train; default 3, more for small data sets)")
    features.add_argument("--device", default="cpu", help="cpu (default), cuda or auto (train)")
    features.add_argument("--if-missing", action="store_true",
                          help="train only when no classifier for this data, size and channels is cached (train)")
    features.add_argument("--weights", metavar="FILE", help="a downloaded InceptionV3 weights file (inception)")
    features.add_argument("--download", action="store_true", help="download the InceptionV3 weights (inception)")

    report = verb("report", "Write a run's self-contained HTML report (RUN/report.html).")
    report.add_argument("run", help="run directory")
    report.add_argument("--out", help="output file (default RUN/report.html)")

    score = verb(
        "score",
        "Score the test part of an anomaly-detection protocol with a trained detector: writes a CSV of "
        "scores and decisions, metrics (image AUROC/AUPRC/best F1; pixel AUROC/AUPRO with masks) and overlays.",
    )
    score.add_argument("run", help="run directory of anogan, egbad, ganomaly or fanogan")
    score.add_argument(
        "--data", metavar="SPEC",
        help="test data (default: the run's own); defects:DIR | magnetic-tile:DIR | mnist[:DIR] etc. with classes",
    )
    _protocol_arguments(score)
    score.add_argument("--out", metavar="CSV", default="scores.csv", help="per-image scores (default scores.csv); "
                       "metrics go to the same name with .json, ranked overlays to -most/-least-anomalous.png")
    score.add_argument("--maps", metavar="DIR", help="write one overlay PNG (image | reconstruction | map) per image")
    limit = score.add_mutually_exclusive_group()
    limit.add_argument("--threshold", type=float, help="decision threshold in normalised units (default 0.5, "
                       "which is the run's threshold_quantile of held-out normal scores)")
    limit.add_argument("--quantile", type=float, help="threshold at this quantile of held-out normal scores instead")
    score.add_argument("--batch-size", type=int, help="images per scoring batch (default model.score_batch_size)")
    score.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

    verb("models", "List the model variants with a one-line description.")

    data = verb("data", "Show what a data spec resolves to: count, shape, classes, and a preview.")
    data.add_argument(
        "spec",
        help="digits | toy:ring8 | toy:grid25 | mnist[:DIR] | fashion-mnist[:DIR] | folder:DIR | unpaired:A,B | "
        "defects:DIR | magnetic-tile:DIR",
    )
    data.add_argument("--size", type=int, help="image size in pixels (square)")
    data.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB")
    data.add_argument("--classes", help="keep only these labels, e.g. 3,5")
    data.add_argument("--split", choices=["train", "test"], default="train")
    data.add_argument("--seed", type=_seed, default=0)
    data.add_argument("--preview", metavar="FILE", help="write a preview grid (scatter plot for points)")
    return parser


def _protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normal-classes", metavar="LIST", help="labelled sets: the normal labels, e.g. 3 (one-class)")
    parser.add_argument("--anomaly-classes", metavar="LIST", help="labelled sets: the anomalous labels, e.g. 3 (one-vs-rest)")


def _class_list(text: str | None, flag: str) -> list[int] | None:
    from gankit.config import parse_list

    if text is None:
        return None
    try:
        return [int(c) for c in parse_list(text, flag)]
    except (TypeError, ValueError):
        raise GankitError(f"{flag} expects labels such as 3 or 1,7, got {text!r}") from None


def _flag_overrides(args: argparse.Namespace) -> None:
    """The train flags that are plain train.* settings, as --set overrides."""
    flags = {"progress": False if args.no_progress else None, "precision": args.precision,
             "channels_last": True if args.channels_last else None, "compile": True if args.compile else None}
    args.overrides.extend(f"train.{name}={str(value).lower()}" for name, value in flags.items() if value is not None)


def _cmd_train(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.training.distributed import close_process_group, is_main_process, launched_by_torchrun

    shortcuts = {"steps": args.steps, "epochs": args.epochs, "minutes": args.minutes}
    if args.resume:
        if args.model or args.data or args.config or args.normal_classes or args.anomaly_classes:
            raise GankitError("--resume takes the model, data and config from the run; give only budgets and --set train.*")
        for name, value in (("device", args.device), ("seed", args.seed), ("batch_size", args.batch_size)):
            if value is not None:
                args.overrides.append(f"train.{name}={value}")
        _flag_overrides(args)
        result = api.resume(args.resume, args.overrides, **shortcuts)
    else:
        if not args.model:
            raise GankitError("name a model to train (see 'gankit models') or give --resume RUN")
        for flag in ("normal_classes", "anomaly_classes"):
            classes = _class_list(getattr(args, flag), "--" + flag.replace("_", "-"))
            if classes is not None:
                args.overrides.append(f"data.{flag}={','.join(map(str, classes))}")
        _flag_overrides(args)
        config = api.make_config(
            args.model, config_file=args.config, overrides=args.overrides, data=args.data,
            device=args.device, seed=args.seed, batch_size=args.batch_size, **shortcuts,
        )
        if not args.out and launched_by_torchrun():
            raise GankitError("under torchrun give --out DIR, so that every process uses the same run directory")
        run_dir = Path(args.out) if args.out else api.default_run_dir(config)
        if is_main_process():
            print(f"training {config.model_name} on {config.data.spec} -> {run_dir}")
        from gankit.training.loop import Trainer

        result = Trainer(config, run_dir).fit()
    close_process_group()
    if not is_main_process():
        return 0  # rank 0 wrote the run's files and reports them
    print(f"done: {result.step} steps in {result.run_dir}")
    print(f"  samples:    {result.samples}")
    if result.losses:
        print(f"  losses:     {result.losses}")
    print(f"  report:     {result.report}")
    print(f"  checkpoint: {result.checkpoint}")
    if result.evaluation:
        print(f"evaluation ({result.run_dir / 'eval.json'}):")
        _print_scores(result.evaluation)
    return 0


def _print_scores(results: dict[str, float]) -> None:
    """Each score beside its floor, the same metric between two halves of the real data."""
    from gankit.metrics.samples import FLOOR_SUFFIX

    scores = [k for k in results if not k.endswith(FLOOR_SUFFIX)]
    width = max(map(len, scores + ["metric"]))
    print(f"{'metric':<{width}}  {'samples':>10}  {'floor':>10}  (floor: the same metric on real data, real vs real)")
    for key in scores:
        floor = results.get(key + FLOOR_SUFFIX)  # model metrics (e.g. cycle L1) have none
        print(f"{key:<{width}}  {results[key]:>10.4g}  {'-' if floor is None else f'{floor:.4g}':>10}")


def _cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from gankit import api
    from gankit.report.plots import save_image_grid, save_samples

    if args.n <= 0:
        raise GankitError(f"--n must be > 0, got {args.n}")
    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if "sample" not in model.capabilities():
        raise GankitError(f"{model.run_config.model_name} models cannot sample; they {', '.join(model.capabilities())}")
    options = _sample_options(model, truncation=args.truncation, cutoff=args.cutoff)
    samples = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed), **options).cpu()
    default = {"png": f"sample-seed{args.seed}.png", "npy": f"sample-seed{args.seed}.npy", "folder": f"samples-seed{args.seed}"}
    out = Path(args.out) if args.out else Path(args.run) / default[args.format]
    if args.format == "npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, samples.numpy())
    elif args.format == "folder":
        if samples.dim() != 4:
            raise GankitError("--format folder writes images; this model makes points: use png or npy")
        for i, image in enumerate(samples):
            save_image_grid(image[None], out / f"{i:06d}.png", nrow=1, min_size=0)  # native size
    else:
        save_samples(samples, out, _modes_of(model), title=f"{args.n} samples")
    print(f"wrote {args.n} samples to {out}")
    return 0


def _sample_options(model, **options):
    """The options the user set, passed on only when this model's sample() accepts them."""
    import inspect

    given = {name: value for name, value in options.items() if value is not None}
    accepted = inspect.signature(model.sample).parameters
    refused = [name for name in given if name not in accepted]
    if refused:
        flags = ", ".join(f"--{name}" for name in refused)
        raise GankitError(f"{model.run_config.model_name} models do not take {flags} (their sample() has no such option)")
    return given


def _seeds(text: str, flag: str) -> list[int]:
    """'1,2,3', '0-5' or a mix ('0-2,7') -> a list of seeds."""
    seeds = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, dash, last = part.partition("-")
            seeds += list(range(int(first), int(last) + 1)) if dash else [int(first)]
    except ValueError:
        raise GankitError(f"{flag} takes seeds like 1,2,3 or 0-5, got {text!r}") from None
    if not seeds:
        raise GankitError(f"{flag} names no seed")
    return seeds


def _style_model(args: argparse.Namespace):
    from gankit import api
    from gankit.report.style import require_style_model

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    require_style_model(model)
    return model


def _cmd_style_mix(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import style_mixing_grid

    model = _style_model(args)
    images, nrow = style_mixing_grid(
        model, _seeds(args.rows, "--rows"), _seeds(args.cols, "--cols"), args.layers, args.truncation
    )
    out = Path(args.out) if args.out else Path(args.run) / f"style-mix-{args.layers}.png"
    save_image_grid(images, out, nrow=nrow)
    print(f"wrote the style-mixing grid ({args.layers} styles from the rows) to {out}")
    return 0


def _cmd_interpolate(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import interpolation_frames, interpolation_grid, save_gif

    model = _style_model(args)
    seeds = _seeds(args.seeds, "--seeds")
    if args.gif:
        out = Path(args.out) if args.out else Path(args.run) / f"interpolate-{args.space}.gif"
        save_gif(interpolation_frames(model, seeds, args.space, args.steps, args.truncation), out)
    else:
        out = Path(args.out) if args.out else Path(args.run) / f"interpolate-{args.space}.png"
        images, nrow = interpolation_grid(model, seeds, args.space, args.steps, args.truncation)
        save_image_grid(images, out, nrow=nrow)
    print(f"wrote the {args.space}-space interpolation to {out}")
    return 0


def _cmd_noise(args: argparse.Namespace) -> int:
    from gankit.report.plots import save_image_grid
    from gankit.report.style import noise_figure

    model = _style_model(args)
    images, nrow = noise_figure(model, _seeds(args.seeds, "--seeds"), args.draws, args.show, truncation=args.truncation)
    out = Path(args.out) if args.out else Path(args.run) / "noise.png"
    save_image_grid(images, out, nrow=nrow)
    print(f"wrote the noise figure ({args.show} draws, no noise, per-pixel std over {args.draws}) to {out}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.translation import translate_files

    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if "translate" not in model.capabilities():
        raise GankitError(
            f"{model.run_config.model_name} models cannot translate; they {', '.join(model.capabilities())}"
        )
    out = Path(args.out)
    written = translate_files(model, args.inputs, args.direction, out, grid=args.grid, size=args.size)
    print(f"wrote {len(written)} {'comparisons' if args.grid else 'translations'} ({args.direction}) to {out}")
    return 0


def _modes_of(model):
    """The true modes of a toy run, to draw under its samples."""
    from gankit.data import load_data

    if model.is_image_model:
        return None
    return load_data(model.run_config.data).modes


def _cmd_eval(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.config import DataConfig, apply_overrides, from_dict
    from gankit.data import load_data
    from gankit.metrics.evaluator import FLOOR_SUFFIX, Evaluator
    from gankit.training.loop import write_json

    model = api.load(args.run, device=args.device)
    config = model.run_config
    raw = {"data": dict(vars(config.data), **({"spec": args.data} if args.data else {}))}
    for item in args.overrides:
        if not item.startswith("data."):
            raise GankitError(f"eval --set changes only data.* settings, not {item.split('=')[0]}")
    data_config = from_dict(DataConfig, apply_overrides(raw, args.overrides)["data"], "data")
    data = load_data(data_config)
    if tuple(data.shape) != tuple(model.data_shape):
        raise GankitError(f"{data.name} gives examples of shape {tuple(data.shape)}, the run makes "
                          f"{tuple(model.data_shape)}; set data.image_size / data.channels to match")
    names = [n for n in args.metrics.split(",") if n.strip()] if args.metrics else config.train.eval_metrics
    evaluator = Evaluator(data, data_config, model, names, num_samples=args.n or config.train.eval_samples,
                          seed=args.seed, features=args.features)
    results = evaluator(model)
    if not results:
        raise GankitError(f"no metric applies to {config.model_name} on {data.name}; "
                          f"for images train a classifier first: gankit features train --data {data.name}")
    print(f"{evaluator.num_samples} samples vs {data.name}, features: {evaluator.features_name}")
    _print_scores(results)
    out = Path(args.run) / "eval.json"
    write_json(out, evaluator.record(model.step, results))
    print(f"wrote {out}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from gankit.config import DataConfig

    if args.action == "train":
        from gankit.metrics.features.classifier import cached_classifier, train_classifier
        from gankit.training.loop import resolve_device

        if not args.data:
            raise GankitError("features train needs --data SPEC (a labelled image data set)")
        if args.epochs is not None and args.epochs <= 0:
            raise GankitError(f"--epochs must be > 0, got {args.epochs}")
        config = DataConfig(spec=args.data, image_size=args.size, channels=args.channels)
        if args.if_missing and cached_classifier(config):
            print(f"a classifier for {args.data} is cached: {cached_classifier(config)}")
            return 0
        train_classifier(config, epochs=args.epochs, device=resolve_device(args.device))
    elif args.action == "inception":
        from gankit.metrics.features.inception import install_inception_weights

        if bool(args.weights) == args.download:
            raise GankitError("features inception needs exactly one of --weights FILE or --download")
        path = install_inception_weights(Path(args.weights) if args.weights else None, download=args.download)
        print(f"InceptionV3 weights checked and installed at {path}")
    else:
        import json

        from gankit.metrics.features.cache import features_home
        from gankit.metrics.features.inception import find_weights

        infos = sorted(features_home().glob("classifier/*/classifier.json"))
        for path in infos:
            info = json.loads(path.read_text())
            print(f"classifier  {info['data']}  {info['image_size']} px  {info['channels']} ch  "
                  f"test accuracy {info['test_accuracy']:.2%}  ({path.parent})")
        weights = find_weights()
        print(f"inception   {weights if weights else 'not installed (gankit features inception --help)'}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from gankit.report.html import write_report

    print(f"wrote {write_report(Path(args.run), Path(args.out) if args.out else None)}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.metrics.anomaly import BASELINE_SUFFIX

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = api.score(
            args.run, data=args.data, out=args.out, maps=args.maps, threshold=args.threshold, quantile=args.quantile,
            normal_classes=_class_list(args.normal_classes, "--normal-classes"),
            anomaly_classes=_class_list(args.anomaly_classes, "--anomaly-classes"),
            batch_size=args.batch_size, device=args.device,
        )
    for warning in caught:
        print(f"gankit: warning: {warning.message}", file=sys.stderr)
    shown = {k: v for k, v in result.metrics.items() if not k.endswith(BASELINE_SUFFIX)}
    width = max(map(len, shown))
    for key, value in shown.items():
        baseline = result.metrics.get(key + BASELINE_SUFFIX)
        beside = "" if baseline is None else f"  (trivial baseline {baseline:.4g})"
        print(f"{key:<{width}}  {value:.4g}{beside}")
    if result.threshold_note:
        print(result.threshold_note)
    for kind, path in result.files.items():
        print(f"{kind}: {path}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from gankit.models import MODELS

    width = max(map(len, MODELS))
    for name, cls in MODELS.items():
        print(f"{name:<{width}}  {cls.description}  [{', '.join(cls.capabilities())}]")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from gankit.config import DataConfig, parse_list
    from gankit.data import describe, load_data, preview_grid
    from gankit.report.plots import plot_points, save_image_grid

    classes = [int(c) for c in parse_list(args.classes, "--classes")] if args.classes else None
    config = DataConfig(
        spec=args.spec, image_size=args.size, channels=args.channels, classes=classes, split=args.split, seed=args.seed
    )
    data = load_data(config)
    print(describe(data))
    if args.preview:
        out = Path(args.preview)
        if data.kind == "points":
            plot_points(data.x[:2500], out, data.modes, title=data.name)
        else:
            save_image_grid(preview_grid(data, 64, seed=args.seed), out)
        print(f"preview: {out}")
    return 0


COMMANDS = {
    "train": _cmd_train, "sample": _cmd_sample, "translate": _cmd_translate, "eval": _cmd_eval,
    "score": _cmd_score, "features": _cmd_features, "report": _cmd_report, "models": _cmd_models,
    "data": _cmd_data, "style-mix": _cmd_style_mix, "interpolate": _cmd_interpolate, "noise": _cmd_noise,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from gankit.training.loop import TrainingInterrupted

    try:
        return COMMANDS[args.verb](args)
    except GankitError as error:
        if args.debug:
            traceback.print_exc()
        print(f"gankit: error: {error}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:
        print(f"gankit: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
