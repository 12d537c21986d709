"""Mode coverage of GAN, WGAN and WGAN-GP on the 2-D mixtures (issue 2, section 7).

For each model, mixture and seed, trains in a child process through the CLI
(so every run is what a user gets), reads ``RUN/eval.json`` (2,500 samples,
VEEGAN/PacGAN definitions) and the child's wall time and peak memory, then
writes a markdown table of means and standard deviations and one scatter plot
per model and mixture (seed 0).

    python benchmarks/toy_modes.py --seeds 5 --out docs/benchmarks/toy
    python benchmarks/toy_modes.py --models wgan_gp,wgan_gp-script,wgan_gp-decay --mixtures ring8 --seeds 1 --steps 10000
    python benchmarks/toy_modes.py --models wgan_gp-decay,wgan_gp-decay-pack2 --mixtures grid25 --seeds 1 --first-seed 3

A table too long for one session runs in parts into the same --out: each part merges its runs into
results.json and table.md shows them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.summary, when run as a file
from benchmarks.summary import mean_std  # noqa: E402
from benchmarks.throughput import matmul_peak  # noqa: E402

# Per-model settings for the toy runs (passed as --set overrides): MLPs of
# 3 x 256 units and batches of 256 for every model. WGAN-GP uses the penalty
# weight of Gulrajani et al.'s toy experiments (gan_toy.py: lambda 0.1, betas
# (0.5, 0.9)) with Adam at 5e-4 instead of 1e-4 so that it converges within
# this benchmark's short budget; WGAN skips the 100-step critic warm-up, which
# would spend most of a short budget on the critic. Everything else is the
# model's packaged default.
COMMON = ["model.mlp_width=256", "model.mlp_depth=3", "train.batch_size=256",
          "train.log_every=100", "train.sample_every=1000000", "train.checkpoint_every=1000000", "train.progress=false"]
# The ablation of issue 13 adds named settings of the same model ("MODEL-what"): the 40-line
# WGAN-GP script's settings (latent 2, Adam 1e-4) and, on top, a higher learning rate decayed
# linearly to 0 (found on ring8 seed 2 with a minimal script; see BENCHMARKS).
SCRIPT = ["model.latent_dim=2", "model.gp_weight=0.1", "model.betas=[0.5, 0.9]", "model.lr=1e-4"]
MODEL_SETTINGS = {
    "gan": [],
    "wgan": ["model.warmup_critic_steps=5"],
    "wgan_gp": ["model.gp_weight=0.1", "model.betas=[0.5, 0.9]", "model.lr=5e-4"],
    "wgan_gp-script": SCRIPT,
    "wgan_gp-decay": SCRIPT + ["model.lr=3e-4", "train.lr_decay=linear"],
    # The same with the packaged latent size: does a wider latent thin the bridges between grid25's modes?
    "wgan_gp-decay-z64": SCRIPT + ["model.lr=3e-4", "train.lr_decay=linear", "model.latent_dim=64"],
}
# Any of them with PacGAN's packing: "MODEL-packM" adds model.pack=M (wgan_gp-decay-pack2). The
# batch stays 256 examples, so G's updates and the data per step are the unpacked run's and D
# judges 256 / M packs; PacGAN's own runs keep the number of packs instead (M times the examples).
PACK_SUFFIX = "-pack"


def settings_of(model: str) -> list[str]:
    """The --set overrides of a benchmark model name (a MODEL_SETTINGS key, maybe with -packM)."""
    base, suffix, degree = model.rpartition(PACK_SUFFIX)
    packing = [f"model.pack={degree}"] if suffix and degree.isdigit() and int(degree) > 0 else []
    base = base if packing else model
    if base not in MODEL_SETTINGS:
        raise SystemExit(f"unknown model {model!r}; valid: {', '.join(MODEL_SETTINGS)}, each also as NAME-packM")
    return COMMON + MODEL_SETTINGS[base] + packing


def run_one(model: str, mixture: str, seed: int, steps: int, work: Path, threads: int) -> dict:
    out = work / f"{model}-{mixture}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "gankit", "train", model.split("-")[0], "--data", f"toy:{mixture}", "--steps", str(steps),
           "--seed", str(seed), "--out", str(out)]
    for item in settings_of(model):
        cmd += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    log = work / f"{out.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as stderr:
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {log.read_text()[-2000:]}")
    evaluation = json.loads((out / "eval.json").read_text())
    return {"model": model, "mixture": mixture, "seed": seed, "steps": steps, "wall_s": wall,
            "peak_rss_mb": usage.ru_maxrss / 1024, "run": str(out), **evaluation}


def run_key(row: dict) -> tuple:
    return row["mixture"], row["model"], row["steps"], row["seed"]


def merge(previous: dict, invocation: dict, rows: list[dict]) -> dict:
    """OUT/results.json after this invocation: a table too long for one session is run in parts
    (by mixture, model or seed), so earlier runs stay, except those re-run now (same mixture,
    model, steps and seed); each run names the invocation (command, machine, peak) it came from."""
    index = len(previous.get("invocations", []))
    fresh = [{**row, "invocation": index} for row in rows]
    replaced = {run_key(row) for row in fresh}
    kept = [row for row in previous.get("runs", []) if run_key(row) not in replaced]
    runs = sorted(kept + fresh, key=run_key)
    return {"invocations": previous.get("invocations", []) + [invocation], "runs": runs}


def summarise(rows: list[dict]) -> str:
    lines = ["| mixture | model | seeds | steps | modes captured | high quality (%) | wall time per run (s) | peak memory (MB) |",
             "|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["mixture"], row["model"], row["steps"]), []).append(row)
    for (mixture, model, steps), group in groups.items():
        lines.append(
            f"| {mixture} | {model} | {len(group)} | {steps} "
            f"| {mean_std([r['modes_captured'] for r in group], 1)} / {group[0]['num_modes']} "
            f"| {mean_std([r['high_quality'] for r in group], 1, scale=100)} "
            f"| {mean_std([r['wall_s'] for r in group], 1)} | {max(r['peak_rss_mb'] for r in group):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="gan,wgan,wgan_gp",
                        help=f"comma-separated: {', '.join(MODEL_SETTINGS)}; NAME-packM adds PacGAN's packing of M")
    parser.add_argument("--mixtures", default="ring8,grid25")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one on")
    parser.add_argument("--steps", type=int, default=10000, help="train steps (batches) per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at the same time (wall times need 1)")
    parser.add_argument("--work", default="runs/bench-toy", help="where the runs go")
    parser.add_argument("--out", default="docs/benchmarks/toy",
                        help="results.json (runs merge into it), table.md (all its runs) and figures")
    args = parser.parse_args()

    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    peak = matmul_peak(torch.float32, 1024, 20)
    for model in args.models.split(","):
        settings_of(model)  # an unknown name stops here, before any run
    jobs = [(model, mixture, seed) for mixture in args.mixtures.split(",")
            for model in args.models.split(",") for seed in range(args.first_seed, args.first_seed + args.seeds)]

    def run_and_report(job: tuple[str, str, int]) -> dict:
        row = run_one(*job, args.steps, work, args.threads)
        print(f"{row['mixture']} {row['model']} seed {row['seed']}: {row['modes_captured']}/{row['num_modes']} modes, "
              f"{100 * row['high_quality']:.1f}% high quality, {row['wall_s']:.0f} s", flush=True)
        return row

    # Runs are independent processes; results come back in job order whatever finishes first.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run_and_report, jobs))
    for row in rows:
        if row["seed"] == 0:  # the figures show seed 0 whichever part of the table ran it
            shutil.copy(Path(row["run"]) / "samples.png", out / f"{row['model']}-{row['mixture']}.png")
    total = time.perf_counter() - started
    machine = (f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
               f"{args.threads} thread(s) per run, {args.jobs} runs at a time, Python {platform.python_version()}, "
               f"fp32 matmul peak {peak / 1e9:.0f} GFLOP/s on {args.threads} thread(s)")
    invocation = {"date": str(date.today()), "machine": machine, "peak_gflops": peak / 1e9,
                  "command": "python benchmarks/toy_modes.py " + " ".join(sys.argv[1:]), "total_wall_s": total}
    results = out / "results.json"
    merged = merge(json.loads(results.read_text()) if results.exists() else {}, invocation, rows)
    results.write_text(json.dumps(merged, indent=2) + "\n")
    parts = "\n".join(f"{i}. `{inv['command']}`: {inv['machine']}; {inv['date']}, total wall time "
                      f"{inv['total_wall_s'] / 60:.1f} min" for i, inv in enumerate(merged["invocations"]))
    table = summarise(merged["runs"])
    (out / "table.md").write_text(f"Invocations (each run's `invocation` in results.json):\n\n{parts}\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
