"""The ``gankit`` command line: one verb per job, each with an example in --help.

    gankit train gan --data digits --minutes 2
    gankit sample runs/gan-digits-... --n 64 --out grid.png
    gankit eval runs/wgan_gp-toy-...
    gankit score runs/ganomaly-mnist-... --out scores.csv --maps maps/
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

EXAMPLES = {
    "train": """examples:
  gankit train gan                                   # digits, the packaged defaults
  gankit train wgan_gp --data toy:ring8 --steps 3000 --out runs/ring
  gankit train gan --data mnist:../shared/data/mnist --set data.image_size=32 --minutes 10
  gankit train --resume runs/ring --steps 6000       # continue to a larger budget""",
    "sample": """examples:
  gankit sample runs/ring --n 2500 --out ring.png
  gankit sample runs/digits --n 64 --seed 3 --out grid.png
  gankit sample runs/digits --n 1000 --format npy --out samples.npy
  gankit sample runs/digits --n 100 --format folder --out samples/""",
    "eval": """examples:
  gankit eval runs/ring                   # mode coverage for toy mixtures, writes RUN/eval.json
  gankit eval runs/ring --n 2500 --seed 1""",
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
  gankit data toy:grid25 --preview grid.png""",
}


def _parser() -> argparse.ArgumentParser:
    from gankit import __version__

    parser = argparse.ArgumentParser(
        prog="gankit",
        description="Train, sample and evaluate GANs (GAN, WGAN, WGAN-GP and more) on CPU or GPU.",
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
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--batch-size", type=int, help="examples per batch")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    _protocol_arguments(train)

    sample = verb("sample", "Draw samples from a trained run.")
    sample.add_argument("run", help="run directory")
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    sample.add_argument("--out", help="output file or folder (default RUN/sample-seedS.png)")
    sample.add_argument("--format", choices=["png", "npy", "folder"], default="png",
                        help="png: one grid (a scatter plot for 2-D data); npy: an array; folder: one PNG each")
    sample.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
    sample.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

    evaluate = verb("eval", "Evaluate a trained run; prints a table and writes RUN/eval.json.")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--metrics", help="comma-separated metric names (default: all that apply)")
    evaluate.add_argument("--n", type=int, default=2500, help="samples to draw (default 2500, as in VEEGAN)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    evaluate.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

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
        help="digits | toy:ring8 | toy:grid25 | mnist[:DIR] | fashion-mnist[:DIR] | folder:DIR | defects:DIR | "
        "magnetic-tile:DIR",
    )
    data.add_argument("--size", type=int, help="image size in pixels (square)")
    data.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB")
    data.add_argument("--classes", help="keep only these labels, e.g. 3,5")
    data.add_argument("--split", choices=["train", "test"], default="train")
    data.add_argument("--seed", type=int, default=0)
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


def _cmd_train(args: argparse.Namespace) -> int:
    from gankit import api

    shortcuts = {"steps": args.steps, "epochs": args.epochs, "minutes": args.minutes}
    if args.resume:
        if args.model or args.data or args.config or args.normal_classes or args.anomaly_classes:
            raise GankitError("--resume takes the model, data and config from the run; give only budgets and --set train.*")
        for name, value in (("device", args.device), ("seed", args.seed), ("batch_size", args.batch_size)):
            if value is not None:
                args.overrides.append(f"train.{name}={value}")
        if args.no_progress:
            args.overrides.append("train.progress=false")
        result = api.resume(args.resume, args.overrides, **shortcuts)
    else:
        if not args.model:
            raise GankitError("name a model to train (see 'gankit models') or give --resume RUN")
        for flag in ("normal_classes", "anomaly_classes"):
            classes = _class_list(getattr(args, flag), "--" + flag.replace("_", "-"))
            if classes is not None:
                args.overrides.append(f"data.{flag}={','.join(map(str, classes))}")
        if args.no_progress:
            args.overrides.append("train.progress=false")
        config = api.make_config(
            args.model, config_file=args.config, overrides=args.overrides, data=args.data,
            device=args.device, seed=args.seed, batch_size=args.batch_size, **shortcuts,
        )
        run_dir = Path(args.out) if args.out else api.default_run_dir(config)
        print(f"training {config.model_name} on {config.data.spec} -> {run_dir}")
        from gankit.training.loop import Trainer

        result = Trainer(config, run_dir).fit()
    print(f"done: {result.step} steps in {result.run_dir}")
    print(f"  samples:    {result.samples}")
    if result.losses:
        print(f"  losses:     {result.losses}")
    print(f"  checkpoint: {result.checkpoint}")
    for key, value in result.evaluation.items():
        print(f"  {key}: {value:.4g}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from gankit import api
    from gankit.report.plots import save_image_grid, save_samples

    if args.n <= 0:
        raise GankitError(f"--n must be > 0, got {args.n}")
    model = api.load(args.run, checkpoint=args.checkpoint, device=args.device)
    if "sample" not in model.capabilities():
        raise GankitError(f"{model.run_config.model_name} models cannot sample; they {', '.join(model.capabilities())}")
    samples = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed)).cpu()
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


def _modes_of(model):
    """The true modes of a toy run, to draw under its samples."""
    from gankit.data import load_data

    if model.is_image_model:
        return None
    return load_data(model.run_config.data).modes


def _cmd_eval(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.data import load_data
    from gankit.metrics import default_metrics, get_metric
    from gankit.training.loop import write_json

    model = api.load(args.run, device=args.device)
    data = load_data(model.run_config.data)
    names = args.metrics.split(",") if args.metrics else default_metrics(model, data)
    if not names:
        raise GankitError(f"no metric applies to {model.run_config.model_name} on {data.name}")
    results: dict[str, float] = {}
    for name in names:
        metric = get_metric(name.strip())
        if not metric.applies_to(model, data):
            raise GankitError(f"metric {name!r} does not apply to {model.run_config.model_name} on {data.name}")
        results.update(metric.compute(model, data, num_samples=args.n, seed=args.seed))
    width = max(map(len, results))
    print(f"{'metric':<{width}}  value")
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.4g}")
    out = Path(args.run) / "eval.json"
    write_json(out, {"step": model.step, "num_samples": args.n, "seed": args.seed, **results})
    print(f"wrote {out}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from gankit import api

    result = api.score(
        args.run, data=args.data, out=args.out, maps=args.maps, threshold=args.threshold, quantile=args.quantile,
        normal_classes=_class_list(args.normal_classes, "--normal-classes"),
        anomaly_classes=_class_list(args.anomaly_classes, "--anomaly-classes"),
        batch_size=args.batch_size, device=args.device,
    )
    width = max(map(len, result.metrics))
    for key, value in result.metrics.items():
        print(f"{key:<{width}}  {value:.4g}")
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
    "train": _cmd_train, "sample": _cmd_sample, "eval": _cmd_eval, "score": _cmd_score, "models": _cmd_models,
    "data": _cmd_data,
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
