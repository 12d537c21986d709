"""Image quality of GAN, WGAN and WGAN-GP on MNIST and Fashion-MNIST, each score beside
its real-vs-real floor, with the ``classifier`` features gankit trains itself.

Each model gets a fixed step budget chosen so that every run costs about the
same CPU time single-threaded (a WGAN step is mostly one critic update, half
the cost of a GAN step that updates both networks). The machine is shared, so
the script reports both the wall time and the process CPU time of each run.

    python benchmarks/generative.py --data-root ../shared/data            # ~20 CPU-minutes
    python benchmarks/generative.py --data-root ../shared/data --quick    # a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import gankit  # noqa: E402
from gankit.config import DataConfig  # noqa: E402
from gankit.errors import GankitError  # noqa: E402
from gankit.metrics.features.classifier import load_classifier, train_classifier  # noqa: E402
from gankit.rundir import RunDirectory  # noqa: E402

DATASETS = {"mnist": "mnist", "fashion-mnist": "fashion-mnist"}
# Steps per model: about equal CPU time (WGAN steps are ~half the cost of GAN / WGAN-GP steps).
STEPS = {"gan": 1200, "wgan": 2400, "wgan_gp": 1200}
IMAGE_SIZE = 28
WIDTH = 32  # DCGAN widths halved from 64 so that the budget buys enough updates on 2 shared cores
EVAL_SAMPLES = 5000
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


def run_one(name: str, spec: str, steps: int, out: Path, eval_every: int, minutes: float | None = None) -> dict:
    """One training run: ``steps`` batches, or (with ``minutes``) the loop's training clock."""
    if out.exists():
        shutil.rmtree(out)
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = gankit.train(
        name, data=spec, steps=steps, minutes=minutes, out=out, seed=0, progress=False, device="cpu",
        overrides=[f"data.image_size={IMAGE_SIZE}", f"model.g_width={WIDTH}", f"model.d_width={WIDTH}",
                   f"train.sample_every={max(min(steps, 4000) // 8, 1)}", f"train.checkpoint_every={steps}",
                   f"train.eval_every={eval_every}", f"train.eval_samples={EVAL_SAMPLES}",
                   "train.eval_metrics=[fid,kid,pr,cls]", "train.eval_features=classifier"],
    )
    return {"model": name, "steps": result.step, "wall_seconds": time.perf_counter() - wall,
            "cpu_seconds": cpu_seconds() - cpu, "run_dir": str(out), **result.evaluation}


def markdown(results: list[dict], classifiers: dict, meta: dict) -> str:
    lines = [
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; torch {meta['torch']}, {meta['threads']} thread; {meta['date']}.  ",
        f"Total wall time {meta['wall_minutes']:.1f} min, CPU time {meta['cpu_minutes']:.1f} min, "
        f"peak memory {meta['peak_mb']:.0f} MB. The machine was shared with other jobs, so wall times are inflated; "
        "the CPU time of each run is the fairer budget measure.",
        "",
        "Classifier features (`gankit features train`, cached, "
        f"{IMAGE_SIZE} px):",
        "",
        "| data | test accuracy | target | epochs | train images |",
        "|---|---|---|---|---|",
    ]
    targets = {"mnist": "≥ 99%", "fashion-mnist": "≥ 90%"}
    for data, info in classifiers.items():
        lines.append(f"| {data} | {info['test_accuracy']:.2%} | {targets[data]} | {info['epochs']} | {info['train_examples']} |")
    lines += [
        "",
        f"Scores on {EVAL_SAMPLES} samples against {EVAL_SAMPLES} real training images; each cell is "
        "`model / floor`, the floor being the same metric between two disjoint halves of the real data "
        f"({EVAL_SAMPLES} each). FID and KID: lower is better; precision, recall and confident share: higher; "
        "class TV (total variation between predicted and true class shares): lower; classes: of 10.",
        "",
        "| data | model | steps | wall | CPU | " + " | ".join(label for _, label in SHOWN) + " |",
        "|---|---|---|---|---|" + "---|" * len(SHOWN),
    ]
    for r in results:
        cells = []
        for key, _ in SHOWN:
            fmt = "{:.0f}" if key == "cls_classes" else "{:.3g}"
            cells.append(f"{fmt.format(r[key])} / {fmt.format(r[key + '_floor'])}")
        lines.append(f"| {r['data']} | {r['model']} | {r['steps']} | {r['wall_seconds'] / 60:.1f} min | "
                     f"{r['cpu_seconds'] / 60:.1f} min | " + " | ".join(cells) + " |")
    lines += ["", "Final samples (64, the same latents for each model):", ""]
    for r in results:
        lines.append(f"![{r['data']} {r['model']}](figures/generative{meta.get('name', '')}/{r['data']}-{r['model']}.png)")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-generative"))
    parser.add_argument("--classifier-epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 steps per model: checks the script, not the models")
    parser.add_argument("--minutes", type=float,
                        help="the same training wall-clock budget for every model (the loop's clock) instead of STEPS")
    parser.add_argument("--name", default="", help="suffix of the results files and figure folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start_wall, start_cpu = time.perf_counter(), cpu_seconds()
    figures = ROOT / "docs" / "figures" / f"generative{args.name}"
    figures.mkdir(parents=True, exist_ok=True)
    results, classifiers = [], {}
    for data, folder in DATASETS.items():
        spec = f"{data}:{Path(args.data_root) / folder}"
        classifiers[data] = ensure_classifier(spec, args.classifier_epochs)
        for name, steps in STEPS.items():
            steps = 20 if args.quick else (10**9 if args.minutes else steps)
            out = Path(args.runs + args.name) / data / name
            row = run_one(name, spec, steps, out, eval_every=0, minutes=args.minutes)
            row["data"] = data
            results.append(row)
            shutil.copyfile(RunDirectory(out).samples, figures / f"{data}-{name}.png")
            print(json.dumps({k: v for k, v in row.items() if not k.endswith("_floor")}), flush=True)
    meta = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()}, 2 shared cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_minutes": (time.perf_counter() - start_wall) / 60,
        "cpu_minutes": (cpu_seconds() - start_cpu) / 60,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "name": args.name,
        "minutes": args.minutes,
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
