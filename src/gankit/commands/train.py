"""``gankit train``: train a model, or resume a run, into a run directory."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, class_list, protocol_arguments, seed
from gankit.commands.evaluate import print_scores
from gankit.errors import GankitError
from gankit.outputs import output_folder

EXAMPLES = """examples:
  gankit train gan                                   # digits, the packaged defaults
  gankit train wgan_gp --data toy:ring8 --steps 3000 --out runs/ring
  gankit train gan --data mnist:../shared/data/mnist --set data.image_size=32 --minutes 10
  gankit train --resume runs/ring --steps 6000       # continue to a larger budget
  gankit train wgan_gp --precision bf16 --channels-last         # autocast; NHWC tensors
  torchrun --nproc_per_node 4 -m gankit train stylegan --out runs/sg   # DDP, one process per GPU
  gankit train gan --set train.on_nan=rollback       # a NaN loss reloads the last checkpoint, lr x0.5"""


def arguments(train: argparse.ArgumentParser) -> None:
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
    train.add_argument("--seed", type=seed, help="random seed (default 0)")
    train.add_argument("--batch-size", type=int, help="examples per batch")
    train.add_argument("--no-progress", action="store_true", help="no progress bar: a plain line every train.print_every steps (for logs)")
    speed = train.add_argument_group("speed (docs/BENCHMARKS.md measures each)")
    speed.add_argument("--precision", choices=["32", "bf16", "16-mixed"],
                       help="32 (default); bf16 or 16-mixed autocast (fp16 with loss scaling)")
    speed.add_argument("--channels-last", action="store_true", help="NHWC memory format for image networks")
    speed.add_argument("--compile", action="store_true", help="torch.compile the trained networks")
    protocol_arguments(train)


def _flag_overrides(args: argparse.Namespace) -> None:
    """The train flags that are plain train.* settings, as --set overrides."""
    flags = {"progress": False if args.no_progress else None, "precision": args.precision,
             "channels_last": True if args.channels_last else None, "compile": True if args.compile else None}
    args.overrides.extend(f"train.{name}={str(value).lower()}" for name, value in flags.items() if value is not None)


def run(args: argparse.Namespace) -> int:
    shortcuts = {"steps": args.steps, "epochs": args.epochs, "minutes": args.minutes}
    if args.resume:
        if args.model or args.data or args.config or args.normal_classes or args.anomaly_classes:
            raise GankitError("--resume takes the model, data and config from the run; give only budgets and --set train.*")
        for name, value in (("device", args.device), ("seed", args.seed), ("batch_size", args.batch_size)):
            if value is not None:
                args.overrides.append(f"train.{name}={value}")
    elif not args.model:
        raise GankitError("name a model to train (see 'gankit models') or give --resume RUN")
    else:
        for flag in ("normal_classes", "anomaly_classes"):
            classes = class_list(getattr(args, flag), "--" + flag.replace("_", "-"))
            if classes is not None:
                args.overrides.append(f"data.{flag}={','.join(map(str, classes))}")
    _flag_overrides(args)

    from gankit import api
    from gankit.training.distributed import close_process_group, is_main_process, launched_by_torchrun
    from gankit.training.loop import Trainer

    if args.resume:
        result = api.resume(args.resume, args.overrides, **shortcuts)
    else:
        config = api.make_config(
            args.model, config_file=args.config, overrides=args.overrides, data=args.data,
            device=args.device, seed=args.seed, batch_size=args.batch_size, **shortcuts,
        )
        if not args.out and launched_by_torchrun():
            raise GankitError("under torchrun give --out DIR, so that every process uses the same run directory")
        run_dir = output_folder(args.out) if args.out else api.default_run_dir(config)
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
        print_scores(result.evaluation)
    return 0


VERB = Verb("train", "Train a model; writes a run directory with checkpoints, samples and metrics.", EXAMPLES, arguments, run)
