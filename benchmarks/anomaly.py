"""Anomaly-detection benchmarks: MNIST one-vs-rest (10 digits x 4 models), magnetic-tile
image/pixel AUROC per defect class, and scoring speed (AnoGAN batched vs image by image;
the encoder models vs AnoGAN at 500 search steps).

Budgets are steps, not wall-clock, and every setting is in BUDGET below and in the
JSON/markdown output. Runs on one thread (the machine is shared).

    python benchmarks/anomaly.py speed            # about 2 minutes
    python benchmarks/anomaly.py tile --data ../shared/data/magnetic-tile
    python benchmarks/anomaly.py mnist --data ../shared/data/mnist --digits 0,1,2,3,4,5,6,7,8,9
    python benchmarks/anomaly.py mnist --seeds 1,2 --resume   # more training seeds into the same JSON
    python benchmarks/anomaly.py report           # tables into docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.summary, when run as a file
from benchmarks.summary import mean_std  # noqa: E402
import gankit  # noqa: E402
from gankit.config import DataConfig
from gankit.data.anomaly import load_anomaly
from gankit.metrics.anomaly import image_metrics, pixel_metrics
from gankit.models import MODELS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DETECTORS = ["anogan", "egbad", "ganomaly", "fanogan"]
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

# The reduced budget (stated in docs/BENCHMARKS.md): small networks, a fraction of an epoch, and
# a learning rate of 1e-3 instead of the papers' 2e-4 / 1e-4 because a few hundred steps at those
# leave the networks near their initialisation.
COMMON = ["model.latent_dim=64", "train.progress=false",
          "train.log_every=50", "train.sample_every=100000", "train.checkpoint_every=100000"]
LEARNING_RATE = {
    "anogan": ["model.lr_g=0.001", "model.lr_d=0.001"],
    "egbad": ["model.lr=0.001"],
    "ganomaly": ["model.lr=0.001"],
    "fanogan": ["model.lr=0.001", "model.lr_encoder=0.001", "model.critic_steps=2"],
}
BUDGET = {
    "mnist": {
        "image_size": 28, "batch_size": 64, "steps": 200, "fanogan_steps": [150, 100],
        "anogan_search_steps": 30, "anogan_search_lr": 0.05, "test_images": 500, "calibration_images": 200,
    },
    "tile": {
        "image_size": 32, "batch_size": 32, "steps": 1200, "fanogan_steps": [800, 400],
        "anogan_search_steps": 30, "anogan_search_lr": 0.05, "calibration_images": 76,
    },
}


def overrides(name: str, budget: dict) -> list[str]:
    width = budget.get("width", 16)
    extra = [f"train.batch_size={budget['batch_size']}", f"model.max_calibration_images={budget['calibration_images']}",
             f"model.g_width={width}", f"model.d_width={width}"]
    extra += LEARNING_RATE[name]
    if name == "anogan":
        extra += [f"model.search_steps={budget['anogan_search_steps']}", f"model.search_lr={budget['anogan_search_lr']}"]
    if name == "fanogan":
        gan, encoder = budget["fanogan_steps"]
        extra += [f"model.gan_steps={gan}", f"model.encoder_steps={encoder}"]
    return COMMON + extra


def steps_of(name: str, budget: dict) -> int:
    return sum(budget["fanogan_steps"]) if name == "fanogan" else budget["steps"]


def train_and_load(name: str, spec: str, budget: dict, extra: list[str], workdir: Path):
    start = time.perf_counter()
    run = gankit.train(
        name, data=spec, steps=steps_of(name, budget), out=workdir / f"{name}-{time.time_ns()}",
        overrides=overrides(name, budget) + [f"data.image_size={budget['image_size']}"] + extra, progress=False,
    )
    return gankit.load(run.run_dir), time.perf_counter() - start


def run_key(name: str, digit: int, seed: int) -> str:
    """A run's key in the results JSON: ``model/digit`` for training seed 0 (the first table's
    runs, kept as they were), ``model/digit/seed`` for the others."""
    return f"{name}/{digit}" if seed == 0 else f"{name}/{digit}/{seed}"


def result_path(args: argparse.Namespace) -> Path:
    return RESULTS / f"anomaly-{args.job}{getattr(args, 'name', '')}.json"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment() -> dict:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


# --- MNIST one-vs-rest --------------------------------------------------------------------------
def bench_mnist(args: argparse.Namespace) -> dict:
    budget = dict(BUDGET["mnist"])
    if args.steps:
        budget["steps"] = args.steps
    budget["width"] = args.width
    out = result_path(args)
    results = json.loads(out.read_text()) if out.exists() and args.resume else {"runs": {}}
    if "environment" in results:  # an earlier invocation: keep its command, date and costs beside this one's
        results.setdefault("invocations", []).append(
            {key: results.pop(key) for key in ("environment", "wall_seconds", "peak_rss_mb") if key in results})
    results.update(environment=environment(), budget=budget, learning_rates=LEARNING_RATE,
                   dataset=args.dataset, settings=args.set)
    spec = f"{args.dataset}:{args.data or ROOT.parent / 'shared' / 'data' / args.dataset}"
    digits = [int(d) for d in args.digits.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for digit in digits:
            config = DataConfig(spec=spec, image_size=budget["image_size"], anomaly_classes=[digit])
            test = load_anomaly(config, "test")
            chosen = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: budget["test_images"]]
            test = test.subset(chosen)
            for seed, name in [(seed, name) for seed in map(int, args.seeds.split(",")) for name in args.models.split(",")]:
                key = run_key(name, digit, seed)
                if key in results["runs"]:
                    continue
                extra = [f"data.anomaly_classes={digit}", f"train.seed={seed}", *args.set]
                model, train_seconds = train_and_load(name, spec, budget, extra, Path(tmp))
                start = time.perf_counter()
                output = model.score_dataset(test.data.x)
                score_seconds = time.perf_counter() - start
                metrics = image_metrics(output.scores, test.is_anomaly)
                results["runs"][key] = {
                    "auroc": metrics["auroc"], "auprc": metrics["auprc"], "best_f1": metrics["best_f1"],
                    "train_seconds": train_seconds, "score_seconds": score_seconds, "test_images": len(test),
                    "num_anomalous": int(test.is_anomaly.sum()), "seed": seed,
                }
                results["peak_rss_mb"] = peak_mb()
                out.write_text(json.dumps(results, indent=2) + "\n")
                print(f"{key}: auroc {metrics['auroc']:.3f} train {train_seconds:.0f}s score {score_seconds:.1f}s", flush=True)
    return results


# --- magnetic tile ------------------------------------------------------------------------------
def bench_tile(args: argparse.Namespace) -> dict:
    budget = BUDGET["tile"]
    spec = f"magnetic-tile:{args.data}"
    test = load_anomaly(DataConfig(spec=spec, image_size=budget["image_size"]), "test")
    results = {"environment": environment(), "budget": budget, "learning_rates": LEARNING_RATE, "runs": {},
               "test_images": len(test)}
    with tempfile.TemporaryDirectory() as tmp:
        for name in DETECTORS:
            model, train_seconds = train_and_load(name, spec, budget, [], Path(tmp))
            start = time.perf_counter()
            output = model.score_dataset(test.data.x)
            score_seconds = time.perf_counter() - start
            row = {"train_seconds": train_seconds, "score_seconds": score_seconds}
            row.update(image_metrics(output.scores, test.is_anomaly))
            row.update(pixel_metrics(output.maps, test.masks))
            for kind in sorted({k for k, a in zip(test.kinds, test.is_anomaly.tolist()) if a}):
                chosen = ~test.is_anomaly | torch.tensor([k == kind for k in test.kinds])
                row[f"auroc[{kind}]"] = image_metrics(output.scores[chosen], test.is_anomaly[chosen])["auroc"]
                if test.masks[chosen].any():
                    row[f"pixel_auroc[{kind}]"] = pixel_metrics(output.maps[chosen], test.masks[chosen])["pixel_auroc"]
            results["runs"][name] = row
            results["peak_rss_mb"] = peak_mb()
            (RESULTS / "anomaly-tile.json").write_text(json.dumps(results, indent=2) + "\n")
            print(f"tile {name}: auroc {row['auroc']:.3f} pixel {row['pixel_auroc']:.3f} aupro {row['aupro']:.3f}", flush=True)
    return results


# --- speed --------------------------------------------------------------------------------------
def timed(function, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_speed(args: argparse.Namespace) -> dict:
    """Per-image scoring time at the MNIST benchmark's network size (weights do not matter for speed)."""
    shape, n = (1, 28, 28), args.images
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    results = {"environment": environment(), "images": n, "image_shape": list(shape), "per_image_seconds": {}}
    models = {}
    for name in DETECTORS:
        config = MODELS[name].Config(g_width=16, d_width=16, latent_dim=64)
        models[name] = MODELS[name](config, shape).eval().requires_grad_(False)
    for name in ("egbad", "ganomaly", "fanogan"):
        models[name].anomaly_score(x)  # warm-up
        results["per_image_seconds"][name] = timed(lambda: models[name].anomaly_score(x), 3) / n

    anogan = models["anogan"]
    z0 = torch.randn(n, 64, generator=torch.Generator().manual_seed(1))
    steps = args.compare_steps
    batched = timed(lambda: anogan.latent_search(x, z0, steps))
    single = timed(lambda: [anogan.latent_search(x[i : i + 1], z0[i : i + 1], steps) for i in range(n)])
    loss_batched = anogan.latent_search(x, z0, steps)[1]
    loss_single = torch.cat([anogan.latent_search(x[i : i + 1], z0[i : i + 1], steps)[1] for i in range(n)])
    results["anogan_compare"] = {
        "steps": steps, "batched_seconds": batched, "image_by_image_seconds": single, "speedup": single / batched,
        "max_abs_score_difference": (loss_batched - loss_single).abs().max().item(),
        "max_rel_score_difference": ((loss_batched - loss_single).abs() / loss_single.abs()).max().item(),
    }
    full = 500
    results["per_image_seconds"]["anogan_500_batched"] = timed(lambda: anogan.latent_search(x, z0, full)) / n
    few = min(n, args.single_images)
    results["per_image_seconds"]["anogan_500_image_by_image"] = timed(
        lambda: [anogan.latent_search(x[i : i + 1], z0[i : i + 1], full) for i in range(few)]
    ) / few
    per = results["per_image_seconds"]
    results["anogan_500_over_encoder"] = {
        name: {"batched": per["anogan_500_batched"] / per[name], "image_by_image": per["anogan_500_image_by_image"] / per[name]}
        for name in ("egbad", "ganomaly", "fanogan")
    }
    results["peak_rss_mb"] = peak_mb()
    result_path(args).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


# --- markdown -----------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


BEGIN, END = "<!-- anomaly tables: generated by benchmarks/anomaly.py report -->", "<!-- end of anomaly tables -->"


def probe_table(paths: list[Path]) -> list[str]:
    """One row per model and probe run (``--name=-probe-...``): other settings than the reduced
    budget's, on all classes or a few, beside the reduced budget's AUROC on the same classes."""
    reference_path = RESULTS / "anomaly-mnist.json"
    reference = json.loads(reference_path.read_text())["runs"] if reference_path.exists() else {}
    lines = [
        "### One-vs-rest probes: other settings than the reduced budget", "",
        "Each row is one `benchmarks/anomaly.py mnist` run (command in the row); the last column is the reduced "
        "budget's mean on the same classes (MNIST only; the Fashion-MNIST rows compare with the `base` row). "
        "One thread each; the rows of 2026-11-27 ran beside a CycleGAN benchmark on the machine's other core.", "",
        "| data set | model | steps | width | command (`python benchmarks/anomaly.py ...`) | " + " | ".join(str(c) for c in range(10))
        + " | mean | reduced budget, same classes | run (UTC), wall, peak RSS |",
        "|---|---|---|---|---|" + "---|" * 13,
    ]
    for path in paths:
        probe = json.loads(path.read_text())
        runs, budget, dataset = probe["runs"], probe["budget"], probe.get("dataset", "mnist")
        for name in [n for n in DETECTORS if any(k.startswith(f"{n}/") for k in runs)]:
            values = {int(k.split("/")[1]): v["auroc"] for k, v in runs.items() if k.startswith(f"{name}/") and k.count("/") == 1}
            mean = sum(values.values()) / len(values)
            same = [reference.get(f"{name}/{c}", {}).get("auroc") for c in values]
            baseline = fmt(sum(same) / len(same)) if dataset == "mnist" and None not in same else "n/a"
            cells = " | ".join(fmt(values.get(c)) if c in values else "" for c in range(10))
            command = probe["environment"]["command"].split("anomaly.py ", 1)[-1]
            lines.append(f"| {DATASET_NAMES[dataset]} | {name} | {budget['steps']} | {budget.get('width', 16)} | "
                         f"`{command}` | {cells} | {fmt(mean)} | {baseline} | {probe['environment']['date']}, "
                         f"{fmt(probe.get('wall_seconds'), 0)} s, {fmt(probe.get('peak_rss_mb'), 0)} MB |")
    return lines + [""]


def report(args: argparse.Namespace) -> dict:
    """The tables of docs/BENCHMARKS.md's anomaly section, from the JSON results."""
    lines: list[str] = []
    tile_path, speed_path = (RESULTS / f"anomaly-{job}.json" for job in ("tile", "speed"))
    probes = sorted(RESULTS.glob("anomaly-mnist-probe*.json"))
    for mnist_path in sorted(set(RESULTS.glob("anomaly-mnist*.json")) - set(probes)):  # the reduced budget first
        mnist = json.loads(mnist_path.read_text())
        runs, budget = mnist["runs"], mnist["budget"]
        digits = sorted({int(key.split("/")[1]) for key in runs})
        seeds = sorted({int(run.get("seed", 0)) for run in runs.values()})
        invocations = [*mnist.get("invocations", []), {key: mnist.get(key) for key in ("environment", "wall_seconds", "peak_rss_mb")}]
        models = [name for name in DETECTORS if any(key.startswith(f"{name}/") for key in runs)]
        fanogan = (f" (f-AnoGAN {budget['fanogan_steps'][0]} WGAN-GP steps with 2 critic steps per generator step, "
                   f"then {budget['fanogan_steps'][1]} encoder steps)") if "fanogan" in models else ""
        anogan = (f"; AnoGAN search {budget['anogan_search_steps']} steps (lr {budget['anogan_search_lr']})"
                  if "anogan" in models else "")
        lines += [
            f"### {DATASET_NAMES[mnist.get('dataset', 'mnist')]} one-vs-rest (image AUROC; the class is the anomaly), "
            f"{', '.join(models)}, {budget['steps']} steps",
            "",
            f"Budget: {budget['image_size']} px, batch {budget['batch_size']}, {budget['steps']} steps{fanogan}, "
            f"networks of width {budget.get('width', 16)}, latent 64, learning rate 1e-3{anogan}; "
            f"test: a fixed random {budget['test_images']} of the protocol's test part; "
            f"calibration on {budget['calibration_images']} held-out normal images. "
            + (f"Overrides: `{' '.join(mnist['settings'])}` (they win over the above). " if mnist.get("settings") else "")
            + " ".join(f"Command: `{run['environment']['command']}`, run {run['environment']['date']}, wall "
                       f"{fmt(run.get('wall_seconds'), 0)} s, peak RSS {fmt(run.get('peak_rss_mb'), 0)} MB." for run in invocations)
            + f" Training seeds {', '.join(map(str, seeds))}: each cell is mean ± std over them; *mean* is the mean over the "
            "classes of each seed, then mean ± std over the seeds.", "",
            "| model | " + " | ".join(str(d) for d in digits) + " | mean |",
            "|---|" + "---|" * (len(digits) + 1),
        ]
        for name in models:
            cells = [[runs[key]["auroc"] for key in (run_key(name, d, seed) for seed in seeds) if key in runs] for d in digits]
            complete = [seed for seed in seeds if all(run_key(name, d, seed) in runs for d in digits)]
            means = [sum(runs[run_key(name, d, seed)]["auroc"] for d in digits) / len(digits) for seed in complete]
            lines.append(f"| {name} | " + " | ".join(mean_std(cell) for cell in cells) + f" | {mean_std(means)} |")
        lines.append("")
    if probes:
        lines += probe_table(probes)
    if tile_path.exists():
        tile = json.loads(tile_path.read_text())
        runs, budget = tile["runs"], tile["budget"]
        kinds = sorted({k[k.index("[") + 1 : -1] for row in runs.values() for k in row if k.startswith("auroc[")})
        lines += [
            "### magnetic-tile (trained on 72% of MT_Free; test: 20% of MT_Free + every defect image)", "",
            f"Budget: {budget['image_size']} px, batch {budget['batch_size']}, {budget['steps']} steps "
            f"(f-AnoGAN {budget['fanogan_steps'][0]} + {budget['fanogan_steps'][1]}), width 16, lr 1e-3; AnoGAN search "
            f"{budget['anogan_search_steps']} steps. {tile['test_images']} test images. Run {tile['environment']['date']}, "
            f"wall {fmt(tile.get('wall_seconds'), 0)} s, peak RSS {fmt(tile.get('peak_rss_mb'), 0)} MB.", "",
            "| model | image AUROC | pixel AUROC | AUPRO | " + " | ".join(f"{k} image / pixel" for k in kinds) + " |",
            "|---|---|---|---|" + "---|" * len(kinds),
        ]
        for name, row in runs.items():
            per = " | ".join(f"{fmt(row.get(f'auroc[{k}]'))} / {fmt(row.get(f'pixel_auroc[{k}]'))}" for k in kinds)
            lines.append(f"| {name} | {fmt(row['auroc'])} | {fmt(row['pixel_auroc'])} | {fmt(row['aupro'])} | {per} |")
        lines.append("")
    if speed_path.exists():
        speed = json.loads(speed_path.read_text())
        per, compare = speed["per_image_seconds"], speed["anogan_compare"]
        lines += [
            f"### Scoring speed ({speed['images']} images of {speed['image_shape']}, one thread, "
            f"run {speed['environment']['date']}, wall {fmt(speed.get('wall_seconds'), 0)} s)", "",
            "| scorer | seconds per image |", "|---|---|",
            *(f"| {name} | {per[name]:.2e} |" for name in ("egbad", "ganomaly", "fanogan")),
            f"| anogan, 500 steps, batched ({speed['images']} at once) | {per['anogan_500_batched']:.3f} |",
            f"| anogan, 500 steps, image by image | {per['anogan_500_image_by_image']:.3f} |", "",
            f"AnoGAN batched vs image by image at {compare['steps']} steps: {compare['speedup']:.1f}x faster "
            f"(target >= 20x); largest score difference {compare['max_rel_score_difference']:.1e} (relative).", "",
            "| encoder model | AnoGAN-500 batched / it | AnoGAN-500 image by image / it |", "|---|---|---|",
            *(
                f"| {name} | {ratio['batched']:.0f}x | {ratio['image_by_image']:.0f}x |"
                for name, ratio in speed["anogan_500_over_encoder"].items()
            ),
            "",
        ]
    for other in sorted(RESULTS.glob("anomaly-speed-*.json")):  # the same measurement with more threads
        extra = json.loads(other.read_text())
        per, compare, environment = extra["per_image_seconds"], extra["anogan_compare"], extra["environment"]
        lines += [
            f"With {environment['threads']} threads (`{environment['command'].split('anomaly.py ', 1)[-1]}`, run "
            f"{environment['date']}, wall {fmt(extra.get('wall_seconds'), 0)} s, peak RSS {fmt(extra.get('peak_rss_mb'), 0)} MB): "
            f"AnoGAN batched vs image by image at {compare['steps']} steps {compare['speedup']:.1f}x; 500 steps "
            f"{per['anogan_500_batched']:.3f} s per image batched, {per['anogan_500_image_by_image']:.3f} s image by image; "
            + ", ".join(f"{name} {ratio['batched']:.0f}x faster than batched AnoGAN"
                        for name, ratio in extra["anogan_500_over_encoder"].items()) + ".", "",
        ]
    # The tables replace the generated block of docs/BENCHMARKS.md; the notes around it are written by hand.
    out = ROOT / "docs" / "BENCHMARKS.md"
    text = out.read_text() if out.exists() else ""
    block = f"{BEGIN}\n" + "\n".join(lines) + f"\n{END}"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text + "\n" + block + "\n"
    out.write_text(text)
    print("\n".join(lines))
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="job", required=True)
    mnist = sub.add_parser("mnist", help="one-vs-rest on MNIST (or Fashion-MNIST with --dataset)")
    mnist.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    mnist.add_argument("--data", help="the data set's folder (default: ../shared/data/DATASET)")
    mnist.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    mnist.add_argument("--resume", action="store_true", help="keep finished runs of an earlier JSON")
    mnist.add_argument("--seeds", default="0", help="training seeds, e.g. 0,1,2 (the test images stay the same)")
    mnist.add_argument("--models", default=",".join(DETECTORS))
    mnist.add_argument("--steps", type=int, help="training steps (default: the reduced budget's)")
    mnist.add_argument("--width", type=int, default=16, help="network width (DCGAN channels)")
    mnist.add_argument("--name", default="", help="suffix of the results file, to keep several budgets")
    mnist.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="a config override for every model, after the budget's (repeatable), e.g. model.latent_dim=16")
    tile = sub.add_parser("tile")
    tile.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "magnetic-tile"))
    speed = sub.add_parser("speed")
    speed.add_argument("--images", type=int, default=64)
    speed.add_argument("--compare-steps", type=int, default=20)
    speed.add_argument("--single-images", type=int, default=4)
    speed.add_argument("--threads", type=int, default=1, help="torch threads (the tables use 1: a shared machine)")
    speed.add_argument("--name", default="", help="suffix of the results file, e.g. -2threads")
    sub.add_parser("report", help="write the tables into docs/BENCHMARKS.md from the JSON results")
    args = parser.parse_args()
    if args.job == "report":
        report(args)
        return
    torch.set_num_threads(getattr(args, "threads", 1))
    torch.manual_seed(0)
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = {"mnist": bench_mnist, "tile": bench_tile, "speed": bench_speed}[args.job](args)
    results["wall_seconds"] = time.perf_counter() - start
    results["peak_rss_mb"] = peak_mb()
    result_path(args).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wall {results['wall_seconds']:.0f} s, peak rss {peak_mb():.0f} MB", flush=True)


if __name__ == "__main__":
    main()
