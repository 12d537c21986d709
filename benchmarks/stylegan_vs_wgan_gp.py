"""Benchmark: StyleGAN against WGAN-GP (DCGAN networks) at the same wall time, 32 px.

Phase ``train`` trains ``stylegan`` for a fixed number of steps, then ``wgan_gp`` for the same
training wall time (the loop's own clock, read from StyleGAN's last checkpoint), each in its own
process with one thread so that peak memory (maxrss from os.wait4) and time are per model.
Phase ``figures`` writes sample grids of both, StyleGAN's style-mixing grids, noise figure,
interpolations and truncation sweep. Phase ``metrics`` scores every model (and each psi of the sweep)
with FID, KID, precision/recall and classifier scores beside their real-vs-real floor, through the
evaluation issue's ``Evaluator`` with classifier features (recorded as missing when it is absent).
Phase ``report`` writes the markdown section into docs/BENCHMARKS.md.

    python benchmarks/stylegan_vs_wgan_gp.py --data fashion-mnist:../shared/data/fashion-mnist --steps 600
    python benchmarks/stylegan_vs_wgan_gp.py --data mnist:../shared/data/mnist --steps 600 --name mnist
    python benchmarks/stylegan_vs_wgan_gp.py --phase metrics report   # after the eval metrics land
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PSIS = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
METRIC_NAMES = ["fid", "kid", "pr", "cls"]  # registry names of the evaluation issue


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=f"fashion-mnist:{ROOT.parent / 'shared' / 'data' / 'fashion-mnist'}")
    parser.add_argument("--name", default="fashion-mnist", help="results folder and heading name")
    parser.add_argument("--steps", type=int, default=600, help="StyleGAN's training steps (batch 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=5000, help="samples per model for the metrics")
    parser.add_argument("--phase", nargs="+", default=["train", "figures", "metrics", "report"],
                        choices=["train", "figures", "metrics", "report"])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench-stylegan")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "figures" / "stylegan")
    return parser.parse_args()


def train(args: argparse.Namespace, model: str, budget: list[str], out: Path) -> dict:
    """Train in a child process with one thread; returns wall time and peak memory. A run that was
    interrupted (a checkpoint but no bench.json) is resumed to the budget."""
    if (out / "bench.json").exists():
        print(f"{out} is complete: kept (delete it to retrain)")
        return json.loads((out / "bench.json").read_text())
    if (out / "config.yaml").exists():
        cmd = [sys.executable, "-m", "gankit", "train", "--resume", str(out), *budget, "--no-progress"]
    else:
        cmd = [sys.executable, "-m", "gankit", "train", model, "--data", args.data, *budget, "--out", str(out),
               "--seed", str(args.seed), "--no-progress", "--set", "data.image_size=32",
               "--set", "train.sample_every=200", "--set", "train.checkpoint_every=200"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    print(" ".join(cmd), flush=True)
    start = time.time()
    process = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{model} training stopped with status {os.waitstatus_to_exitcode(status)}; "
                         "run the script again to resume it")
    from gankit.training.checkpoint import latest_checkpoint, load_checkpoint

    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    result = {
        "model": model, "command": " ".join(cmd[1:]), "steps": state.step,
        "train_seconds": state.elapsed_seconds,  # the loop's clock, summed over resumes
        "process_seconds": time.time() - start,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # of the last training process
        "batch_size": state.config["train"]["batch_size"],
    }
    (out / "bench.json").write_text(json.dumps(result, indent=2))
    return result


def phase_train(args: argparse.Namespace, runs: Path) -> None:
    style = train(args, "stylegan", ["--steps", str(args.steps)], runs / "stylegan")
    minutes = style["train_seconds"] / 60
    train(args, "wgan_gp", ["--minutes", f"{minutes:.3f}"], runs / "wgan_gp")


def phase_figures(args: argparse.Namespace, runs: Path, figures: Path) -> None:
    import torch

    import gankit
    from gankit.report.plots import save_image_grid
    from gankit.report.style import interpolation_grid, noise_figure, style_mixing_grid

    generator = lambda: torch.Generator().manual_seed(args.seed)  # noqa: E731
    style = gankit.load(runs / "stylegan")
    wgan = gankit.load(runs / "wgan_gp")
    save_image_grid(style.sample(64, generator=generator()), figures / "stylegan-samples.png", nrow=8)
    save_image_grid(wgan.sample(64, generator=generator()), figures / "wgan_gp-samples.png", nrow=8)
    rows, cols = [1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15]
    figure_list = {
        "style-mixing-coarse": style_mixing_grid(style, rows, cols, "coarse"),
        "style-mixing-middle": style_mixing_grid(style, rows, cols, "middle"),
        "noise": noise_figure(style, [0, 1, 2, 3], draws=64, show=5),
        "interpolate-w": interpolation_grid(style, [0, 1, 2, 3], space="w", steps=8),
        "interpolate-z": interpolation_grid(style, [0, 1, 2, 3], space="z", steps=8),
    }
    for name, (images, nrow) in figure_list.items():
        save_image_grid(images, figures / f"{name}.png", nrow=nrow)
    # The truncation sweep: the same 8 latents at each psi, one row per psi.
    sweep = [style.sample(8, generator=generator(), truncation=psi) for psi in PSIS]
    save_image_grid(torch.cat(sweep), figures / "truncation-sweep.png", nrow=8)


class Truncated:
    """A StyleGAN run seen by the metrics as a model whose ``sample`` uses one psi."""

    def __init__(self, model, psi: float) -> None:
        self.model, self.psi = model, psi

    def sample(self, n, *, generator=None):
        return self.model.sample(n, generator=generator, truncation=self.psi)

    def __getattr__(self, name):
        return getattr(self.model, name)


def phase_metrics(args: argparse.Namespace, runs: Path, results: Path) -> None:
    """FID, KID, precision/recall and classifier scores with the classifier features, each with its
    real-vs-real floor, through the evaluation issue's Evaluator (the one thing this phase needs)."""
    import gankit
    from gankit.data import load_data

    out = {"samples": args.samples, "seed": args.seed, "metrics": METRIC_NAMES, "scores": {}}
    try:
        from gankit.metrics.evaluator import Evaluator
    except ImportError:
        out["missing"] = "gankit.metrics.evaluator.Evaluator (the evaluation issue, branch eval)"
        print(f"metrics skipped: {out['missing']} is not on this branch")
    else:
        style = gankit.load(runs / "stylegan")
        data = load_data(style.run_config.data)
        evaluator = Evaluator(data, style.run_config.data, style, METRIC_NAMES, num_samples=args.samples,
                              seed=args.seed, features="classifier")
        models = {"wgan_gp": gankit.load(runs / "wgan_gp"), "stylegan": style}
        models.update({f"stylegan psi={psi}": Truncated(style, psi) for psi in PSIS if psi != 1.0})
        for label, model in models.items():
            out["scores"][label] = evaluator(model)
            print(label, out["scores"][label], flush=True)
        out["features"] = evaluator.features_name
    (results / "metrics.json").write_text(json.dumps(out, indent=2))


def phase_report(args: argparse.Namespace, runs: Path, results: Path, figures: Path) -> None:
    import torch

    from gankit.data.dataset import DataSpec

    rows = {m: json.loads((runs / m / "bench.json").read_text()) for m in ("stylegan", "wgan_gp")}
    metrics_file = results / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {"scores": {}}
    rel = lambda p: os.path.relpath(p, ROOT / "docs")  # noqa: E731
    lines = [
        f"### StyleGAN vs WGAN-GP (DCGAN), {args.name}, 32 px, same training wall time",
        "",
        f"Command: `python benchmarks/stylegan_vs_wgan_gp.py --data {DataSpec.of(args.data).prefix}:DIR --name {args.name} "
        f"--steps {args.steps}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (wall times are inflated by "
        f"their load), torch {torch.__version__}, 1 thread per training process; "
        f"{datetime.date.today().isoformat()}.",
        "",
        "| model | steps | batch | images seen | training wall time | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for model, row in rows.items():
        lines.append(f"| {model} | {row['steps']} | {row['batch_size']} | {row['steps'] * row['batch_size']:,} | "
                     f"{row['train_seconds'] / 60:.1f} min | {row['peak_rss_mb']:.0f} MB |")
    lines.append("")
    if metrics["scores"]:
        first = next(iter(metrics["scores"].values()))
        keys = [k for k in first if not k.endswith("_floor")]
        lines += [f"Metrics on {metrics['samples']} samples, {metrics.get('features')} features, seed {metrics['seed']}; "
                  "the floor is the same metric between two disjoint halves of the real data:", "",
                  "| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        rows_out = [("real vs real (floor)", {k: first.get(k + "_floor", float("nan")) for k in keys})]
        for label, scores in [*rows_out, *metrics["scores"].items()]:
            lines.append(f"| {label} | " + " | ".join(f"{scores.get(k, float('nan')):.4g}" for k in keys) + " |")
    else:
        lines.append("FID, KID, precision, recall and classifier scores: **not measured yet**. They need "
                     "`gankit.metrics.evaluator.Evaluator` and the classifier features of the evaluation issue, "
                     "which are not on this branch; once they are, `--phase metrics report` fills in this table "
                     "(all models, every psi of the sweep, and the real-vs-real floor) without retraining.")
    fig = lambda name: f"![{name}]({rel(figures / (name + '.png'))})"  # noqa: E731
    lines += [
        "", "Samples (the same seed for both; StyleGAN from its EMA generator, psi = 1):", "",
        "| StyleGAN | WGAN-GP (DCGAN) |", "|---|---|", f"| {fig('stylegan-samples')} | {fig('wgan_gp-samples')} |", "",
        "StyleGAN's truncation sweep: the same 8 latents, one row per psi = " + ", ".join(map(str, PSIS)) + ":", "",
        fig("truncation-sweep"), "",
        "Style mixing (top row: destinations, seeds 10-15; left column: sources, seeds 1-5), coarse styles "
        "(layers at 4-8 px) and middle styles (16-32 px) copied from the source:", "",
        "| coarse | middle |", "|---|---|", f"| {fig('style-mixing-coarse')} | {fig('style-mixing-middle')} |", "",
        "Noise (one row per seed: five noise draws for the same w, all noise at zero, per-pixel std over 64 draws) "
        "and interpolation in W (lerp, one row per pair of seeds, noise fixed):", "",
        "| noise | W interpolation |", "|---|---|", f"| {fig('noise')} | {fig('interpolate-w')} |", "",
    ]
    section = "\n".join(lines) + "\n"
    (results / "section.md").write_text(section)
    update_benchmarks_md(args.name, section)
    print(section)


def update_benchmarks_md(name: str, section: str) -> None:
    """Put ``section`` between this benchmark's markers in docs/BENCHMARKS.md (appended the first time)."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- stylegan:{name} begin -->", f"<!-- stylegan:{name} end -->"
    block = f"{begin}\n{section}{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    args = parse_args()
    runs = args.runs / args.name
    figures = args.figures / args.name
    results = ROOT / "benchmarks" / "results" / f"stylegan-{args.name}"
    for folder in (runs, figures, results):
        folder.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import torch

    torch.set_num_threads(1)
    if "train" in args.phase:
        phase_train(args, runs)
    if "figures" in args.phase:
        phase_figures(args, runs, figures)
    if "metrics" in args.phase:
        phase_metrics(args, runs, results)
    if "report" in args.phase:
        phase_report(args, runs, results, figures)


if __name__ == "__main__":
    main()
