"""Image quality of GAN, WGAN, WGAN-GP and StyleGAN on MNIST and Fashion-MNIST, each score beside
its real-vs-real floor, with the ``classifier`` features gankit trains itself.

Every model trains for the same wall-clock budget on the loop's clock (``--minutes``), one thread,
one model at a time, at 32 px (StyleGAN's sizes are powers of two). Each model's settings are fixed
in advance (``SETTINGS``; none is tuned on these data): the GAN uses the recipe chosen on the
bundled digits for ``make demo``, WGAN and WGAN-GP their papers' settings with the same EMA of G,
StyleGAN its packaged defaults. StyleGAN's run is also scored at truncation psi 1.0 to 0.5.
The speed of the machine is measured in the same run (fp32 matmul peak).

    python benchmarks/generative.py --minutes 20 --data mnist --seeds 0 --name=-session6-mnist
    python benchmarks/generative.py --quick --name=-smoke              # checks the script, not the models
    python benchmarks/generative.py --steps-budget                     # the older equal-CPU step budget
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import gankit  # noqa: E402
from benchmarks.stylegan_vs_wgan_gp import Truncated  # noqa: E402
from benchmarks.throughput import matmul_peak  # noqa: E402
from gankit.config import DataConfig  # noqa: E402
from gankit.data import load_data  # noqa: E402
from gankit.errors import GankitError  # noqa: E402
from gankit.metrics.evaluator import Evaluator  # noqa: E402
from gankit.metrics.features.classifier import load_classifier, train_classifier  # noqa: E402
from gankit.rundir import RunDirectory  # noqa: E402

DATASETS = ("mnist", "fashion-mnist")
IMAGE_SIZE = 32  # StyleGAN needs a power of two; every model trains and is judged at the same size
WIDTH = 32  # DCGAN widths halved from 64 so that the budget buys enough updates on one core
EMA = ["model.ema_kimg=4"]  # the demo's EMA of G (half-life 4,000 images), for every GAN-family model
# Each model's settings, fixed before any run on these data (none was tuned here).
SETTINGS = {
    # The recipe chosen on the bundled digits for `make demo` (docs/BENCHMARKS.md, "The digits demo"):
    # SNGAN's CNN, spectral norm in D, Adam 8e-4 with beta1 = 0, batch 32, EMA of G.
    "gan": [f"model.g_width={WIDTH}", f"model.d_width={WIDTH}", "model.network=cnn", "model.d_norm=spectral",
            "model.lr_g=8e-4", "model.lr_d=8e-4", "model.betas=[0.0,0.99]", "train.batch_size=32", *EMA],
    # The papers' settings (RMSprop 5e-5, clip 0.01, warm-up; Adam 1e-4 (0, 0.9), lambda 10), DCGAN networks.
    "wgan": [f"model.g_width={WIDTH}", f"model.d_width={WIDTH}", *EMA],
    "wgan_gp": [f"model.g_width={WIDTH}", f"model.d_width={WIDTH}", *EMA],
    "stylegan": ["train.batch_size=32"],  # packaged defaults (widths 32 up to 128, R1, EMA 10 kimg)
}
# The older equal-CPU step budget (about the same CPU time single-threaded: a WGAN step is mostly one critic update)
STEPS = {"gan": 1200, "wgan": 2400, "wgan_gp": 1200, "stylegan": 600}
PSIS = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]  # StyleGAN's truncation sweep
EVAL_SAMPLES = 5000
METRICS = ["fid", "kid", "pr", "cls"]
SHOWN = [("fid", "FID"), ("kid_mean", "KID"), ("precision", "precision"), ("recall", "recall"),
         ("cls_confident", "confident"), ("cls_tv", "class TV"), ("cls_classes", "classes")]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ensure_classifier(spec: str, epochs: int) -> dict:
    config = DataConfig(spec=spec, image_size=IMAGE_SIZE)
    try:
        extractor = load_classifier(config)
        print(f"classifier for {spec}: cached, test accuracy {extractor.info['test_accuracy']:.2%}", flush=True)
    except GankitError:
        extractor = train_classifier(config, epochs=epochs)
    return extractor.info


def run_one(name: str, spec: str, seed: int, steps: int, out: Path, minutes: float | None,
            extra: list[str] = ()) -> dict:
    """One training run: ``steps`` batches, or (with ``minutes``) the loop's training clock; scored at
    the end. ``extra`` overrides come after the model's SETTINGS (a variant's rows, under --name)."""
    if out.exists():
        shutil.rmtree(out)
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = gankit.train(
        name, data=spec, steps=steps, minutes=minutes, out=out, seed=seed, progress=False, device="cpu",
        overrides=[f"data.image_size={IMAGE_SIZE}", *SETTINGS[name], *extra,
                   f"train.sample_every={max(min(steps, 4000) // 8, 1)}", "train.checkpoint_every=2000",
                   "train.eval_every=0", f"train.eval_samples={EVAL_SAMPLES}",
                   f"train.eval_metrics=[{','.join(METRICS)}]", "train.eval_features=classifier"],
    )
    row = {"model": name, "seed": seed, "steps": result.step, "wall_seconds": time.perf_counter() - wall,
           "cpu_seconds": cpu_seconds() - cpu, "run_dir": str(out), **result.evaluation}
    if name == "stylegan":
        row["truncation"] = truncation_sweep(out, seed)
    return row


def truncation_sweep(run: Path, seed: int) -> dict[str, dict]:
    """Precision, recall and classifier scores of a StyleGAN run at each psi, same real sets and floors."""
    model = gankit.load(run)
    evaluator = Evaluator(load_data(model.run_config.data), model.run_config.data, model, ["pr", "cls"],
                          num_samples=EVAL_SAMPLES, seed=seed, features="classifier")
    return {str(psi): evaluator(Truncated(model, psi)) for psi in PSIS}


def mean_std(values: list[float]) -> str:
    t = torch.tensor(values, dtype=torch.float64)
    return f"{t.mean():.3g}" if len(values) == 1 else f"{t.mean():.3g} ± {t.std():.2g}"


def markdown(results: list[dict], classifiers: dict, meta: dict) -> str:
    budget = (f"{meta['minutes']:g} min of training per model on the loop's clock" if meta["minutes"]
              else "the fixed step budgets of `STEPS`")
    lines = [
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; fp32 matmul peak {meta['peak_gflops']:.0f} GFLOP/s on one thread in the same run; "
        f"torch {meta['torch']}, {meta['threads']} thread; {meta['date']}.  ",
        f"Budget: {budget}. Total wall time {meta['wall_minutes']:.1f} min, CPU time {meta['cpu_minutes']:.1f} min, "
        f"peak memory {meta['peak_mb']:.0f} MB.",
        "",
        f"Classifier features (`gankit features train`, cached, {IMAGE_SIZE} px):",
        "",
        "| data | test accuracy | epochs | train images |",
        "|---|---|---|---|",
    ]
    for data, info in classifiers.items():
        lines.append(f"| {data} | {info['test_accuracy']:.2%} | {info['epochs']} | {info['train_examples']} |")
    lines += [
        "",
        f"Scores on {EVAL_SAMPLES} samples against {EVAL_SAMPLES} real training images; each cell is "
        "`model / floor`, the floor being the same metric between two disjoint halves of the real data "
        f"({EVAL_SAMPLES} each). FID and KID: lower is better; precision, recall and confident share: higher; "
        "class TV (total variation between predicted and true class shares): lower; classes: of 10.",
        "",
        "| data | model | seed | steps | wall | " + " | ".join(label for _, label in SHOWN) + " |",
        "|---|---|---|---|---|" + "---|" * len(SHOWN),
    ]
    for r in results:
        cells = []
        for key, _ in SHOWN:
            fmt = "{:.0f}" if key == "cls_classes" else "{:.3g}"
            cells.append(f"{fmt.format(r[key])} / {fmt.format(r[key + '_floor'])}")
        lines.append(f"| {r['data']} | {r['model']} | {r['seed']} | {r['steps']} | {r['wall_seconds'] / 60:.1f} min | "
                     + " | ".join(cells) + " |")
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["data"], r["model"]), []).append(r)
    if any(len(rows) > 1 for rows in groups.values()):
        lines += ["", "Mean ± std over seeds:", "",
                  "| data | model | seeds | " + " | ".join(label for _, label in SHOWN) + " |",
                  "|---|---|---|" + "---|" * len(SHOWN)]
        for (data, model), rows in groups.items():
            lines.append(f"| {data} | {model} | {len(rows)} | "
                         + " | ".join(mean_std([r[key] for r in rows]) for key, _ in SHOWN) + " |")
    for r in results:
        if "truncation" in r:
            lines += ["", f"StyleGAN's truncation sweep ({r['data']}, seed {r['seed']}; same real sets):", "",
                      "| psi | precision | recall | confident | class TV | classes |", "|---|---|---|---|---|---|"]
            for psi, s in r["truncation"].items():
                lines.append(f"| {psi} | {s['precision']:.3f} | {s['recall']:.3f} | {s['cls_confident']:.3f} | "
                             f"{s['cls_tv']:.3f} | {s['cls_classes']:.0f} |")
    lines += ["", "Final samples (64, the same latents for each model):", ""]
    for r in results:
        lines.append(f"![{r['data']} {r['model']} seed {r['seed']}](figures/generative{meta['name']}/"
                     f"{r['data']}-{r['model']}-{r['seed']}.png)")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", default=",".join(DATASETS), help="comma-separated: mnist, fashion-mnist")
    parser.add_argument("--models", default=",".join(SETTINGS), help="comma-separated, of " + ", ".join(SETTINGS))
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-generative"))
    parser.add_argument("--classifier-epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 steps per model: checks the script, not the models")
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="the same training wall-clock budget for every model (the loop's clock; default 20)")
    parser.add_argument("--steps-budget", action="store_true", help="use the fixed STEPS instead of --minutes")
    parser.add_argument("--name", default="", help="suffix of the results files, runs and figure folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="one more override for every model run, after SETTINGS (a variant: give it a --name)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    minutes = None if (args.quick or args.steps_budget) else args.minutes
    peak = matmul_peak(torch.float32, 1024, 20)
    start_wall, start_cpu = time.perf_counter(), cpu_seconds()
    figures = ROOT / "docs" / "figures" / f"generative{args.name}"
    figures.mkdir(parents=True, exist_ok=True)
    results, classifiers = [], {}
    for data in args.data.split(","):
        spec = f"{data}:{Path(args.data_root) / data}"
        classifiers[data] = ensure_classifier(spec, args.classifier_epochs)
        for seed in [int(s) for s in args.seeds.split(",")]:
            for name in args.models.split(","):
                steps = 20 if args.quick else (10**9 if minutes else STEPS[name])
                out = Path(args.runs + args.name) / data / f"{name}-{seed}"
                row = run_one(name, spec, seed, steps, out, minutes, args.set)
                row["data"] = data
                results.append(row)
                shutil.copyfile(RunDirectory(out).samples, figures / f"{data}-{name}-{seed}.png")
                print(json.dumps({k: v for k, v in row.items() if not k.endswith("_floor")}), flush=True)
    meta = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "peak_gflops": peak / 1e9,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_minutes": (time.perf_counter() - start_wall) / 60,
        "cpu_minutes": (cpu_seconds() - start_cpu) / 60,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "name": args.name,
        "minutes": minutes,
    }
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"generative{args.name}.json").write_text(json.dumps({"meta": meta, "classifiers": classifiers, "runs": results},
                                                        indent=2) + "\n")
    text = markdown(results, classifiers, meta)
    (out_dir / f"generative{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
