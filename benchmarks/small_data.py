"""Small data without collapse: DiffAugment (Zhao et al. 2020) on MNIST subsets (issue 13, section 4).

Trains the same GAN recipe (examples/demo.yaml's: SNGAN CNN, spectral-norm D, EMA of G) on
MNIST subsets of 500 and 2,000 training images with and without `model.augment`, and on the
full training set without it, for the same number of steps (the budget-matched baseline), one
run at a time. Each run is evaluated against the FULL MNIST training set (`gankit eval --set
data.limit=null`): what a user with few images wants is the distribution they were drawn
from. Target: with augmentation, recall at 500 images within 0.1 of the full set's.

    PYTHONPATH=src:. python benchmarks/small_data.py --data ../shared/data/mnist --seeds 0,1,2
    PYTHONPATH=src:. python benchmarks/small_data.py --summarise benchmarks/results/small-data-session10-500-s*.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

import torch

from benchmarks.child import run_child
from benchmarks.summary import mean_std
from benchmarks.throughput import matmul_peak

RECIPE = ["model.network=cnn", "model.g_width=32", "model.d_width=32", "model.d_norm=spectral",
          "model.lr_g=8e-4", "model.lr_d=8e-4", "model.betas=[0.0,0.99]", "model.ema_kimg=4",
          "train.batch_size=32", "train.sample_every=1000000", "train.checkpoint_every=1000000", "train.log_every=100"]
POLICY = "translation,cutout"  # the paper's policy for grey images (colour is for RGB)
METRICS = "fid,pr,cls"


def one(args: argparse.Namespace, images: int | None, augment: bool, seed: int, work: Path) -> dict:
    name = f"{images or 'full'}-{'aug' if augment else 'plain'}-{seed}"
    out = work / name
    gankit = [sys.executable, "-m", "gankit"]
    settings = RECIPE + ([f"data.limit={images}"] if images else []) + ([f"model.augment={POLICY}"] if augment else [])
    command = gankit + ["train", "gan", "--data", f"mnist:{args.data}", "--steps", str(args.steps), "--seed", str(seed),
                        "--out", str(out), "--no-progress", "--set", "train.eval_metrics=[]", "--set", "data.image_size=28"]
    for item in settings:
        command += ["--set", item]
    train_s, peak_mb, _ = run_child(command, args.threads)
    run_child(gankit + ["eval", str(out), "--metrics", METRICS, "--n", str(args.n), "--set", "data.limit=null"], args.threads)
    evaluation = json.loads((out / "eval.json").read_text())
    scores = {k: v for k, v in evaluation.items() if isinstance(v, (int, float)) and k not in ("seed", "step")}
    return {"images": images or "full", "augment": augment, "seed": seed, "train_s": train_s, "peak_rss_mb": peak_mb,
            **scores}  # eval.json's seed is the sampling seed: the training seed is this row's


def table(rows: list[dict]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["images"], row["augment"]), []).append(row)

    def stat(group: list[dict], key: str, digits: int = 3) -> str:
        return mean_std([r[key] for r in group], digits)

    lines = ["| training images | DiffAugment | seeds | FID | precision | recall | confident | class TV | train wall (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (images, augment), group in groups.items():
        lines.append(f"| {images} | {POLICY if augment else 'off'} | {len(group)} | {stat(group, 'fid', 1)} "
                     f"| {stat(group, 'precision')} | {stat(group, 'recall')} | {stat(group, 'cls_confident')} "
                     f"| {stat(group, 'cls_tv')} | {stat(group, 'train_s', 0)} |")
    floors = rows[0]  # every run is judged against the same full training set
    lines.append(f"| floor (real vs real) | | | {floors['fid_floor']:.3f} | {floors['precision_floor']:.3f} "
                 f"| {floors['recall_floor']:.3f} | {floors['cls_confident_floor']:.3f} | {floors['cls_tv_floor']:.3f} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder of the four MNIST IDX files (required unless --summarise)")
    parser.add_argument("--sizes", default="500,2000", help="subset sizes")
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True,
                        help="also the budget-matched run on the full set (default; --no-full: the subsets only, "
                             "e.g. to split the runs between two cores)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--n", type=int, default=5000, help="samples per evaluation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="mnist")
    parser.add_argument("--work", default="runs/bench-small-data")
    parser.add_argument("--summarise", nargs="+", metavar="RESULTS.json",
                        help="print one table of these results files' runs (a table run in parts) and train nothing")
    args = parser.parse_args()
    if args.summarise:
        print(table([row for path in args.summarise for row in json.loads(Path(path).read_text())["runs"]]))
        return

    if not args.data:
        parser.error("--data is required")
    torch.set_num_threads(args.threads)
    peak = matmul_peak(torch.float32, 1024, 20)
    run_child([sys.executable, "-m", "gankit", "features", "train", "--data", f"mnist:{args.data}", "--size", "28", "--if-missing"],
        args.threads)
    work = Path(args.work) / args.name
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(int(size), augment) for size in args.sizes.split(",") for augment in (False, True)]
    jobs += [(None, False)] if args.full else []
    rows = []
    for images, augment in jobs:
        for seed in seeds:
            rows.append(one(args, images, augment, seed, work))
            r = rows[-1]
            print(f"{r['images']} images, augment {augment}, seed {seed}: FID {r['fid']:.1f}, precision "
                  f"{r['precision']:.3f}, recall {r['recall']:.3f}, {r['train_s']:.0f} s", flush=True)
    report = {"date": str(date.today()), "command": "python benchmarks/small_data.py " + " ".join(sys.argv[1:]),
              "machine": f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), torch {torch.__version__}",
              "threads": args.threads, "peak_gflops": peak / 1e9, "steps": args.steps, "recipe": RECIPE, "runs": rows}
    results = Path("benchmarks/results")
    results.mkdir(parents=True, exist_ok=True)
    (results / f"small-data-{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = (f"Command: `{report['command']}`  \nMachine: {report['machine']}, {args.threads} threads, fp32 matmul peak "
            f"{peak / 1e9:.0f} GFLOP/s  \nDate: {report['date']}; {args.steps} steps of batch 32 per run\n\n{table(rows)}\n")
    (results / f"small-data-{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
