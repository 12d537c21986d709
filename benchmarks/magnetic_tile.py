"""magnetic-tile benchmark: every detector squeezed (whole tile at 32 px, today's budget) and
tiled (256 px images, 64 px training patches, overlapping tiles at scoring), over training
seeds; image AUROC of three image scores, pixel AUROC and AUPRO per defect class, precision and
recall at the default threshold, wall time and peak memory per job, and a matmul peak of the
machine measured in the same run (so times from different days can be compared).

Every job (one detector, one mode, one seed) runs in its own process, one at a time, so its
peak RSS is its own. Results go to benchmarks/results/magnetic-tile.json (finished jobs are
kept on a rerun); overlays of the 8 most and least anomalous test images of every defect class
(seed 0) to benchmarks/results/magnetic-tile/.

    python benchmarks/magnetic_tile.py run                       # 4 detectors x 2 modes x 3 seeds
    python benchmarks/magnetic_tile.py run --tiny                 # a minute: checks the script only
    python benchmarks/magnetic_tile.py report                     # the table, for docs/BENCHMARKS.md
    python benchmarks/magnetic_tile.py run --modes tiled --detectors ganomaly --set model.map_sigma=4 --name=-sigma4
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.summary, when run as a file
from benchmarks.summary import mean_std  # noqa: E402
import gankit  # noqa: E402
from gankit.config import DataConfig
from gankit.data.anomaly import load_anomaly
from gankit.metrics.anomaly import image_metrics, pixel_metrics
from gankit.detection import image_scores
from gankit.report.anomaly import save_ranked

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DETECTORS = ["anogan", "egbad", "ganomaly", "fanogan"]
MODES = ["squeezed", "tiled"]
IMAGE_SCORES = ["detector", "map_max", "map_top_k"]
OVERLAY_SCORE = "map_top_k"  # ranks the overlays; fixed in advance
OVERLAY_SIZE = 128  # px per panel in the overlay PNGs (the repository keeps them small)
QUANTILE = 0.99  # the default threshold: this quantile of held-out normal scores

# Every setting is fixed in advance or chosen on held-out normal images only; none looked at
# the test set. HOW_CHOSEN is written into the results beside them.
SETTINGS = {
    "squeezed": {"data.image_size": 32, "train.batch_size": 32, "steps": 1200, "fanogan_steps": [800, 400],
                 "width": 16},
    "tiled": {"data.image_size": 256, "data.patch_size": 64, "model.tile_stride": 32, "train.batch_size": 32,
              "steps": 3000, "fanogan_steps": [2000, 1000], "width": 32},
}
COMMON = ["model.latent_dim=64", "train.progress=false", "train.log_every=50", "train.sample_every=100000",
          "train.checkpoint_every=100000", "train.eval_metrics=[]", "model.max_calibration_images=2000",
          "train.minutes=30"]
LEARNING_RATE = {  # the reduced budget of benchmarks/anomaly.py: 1e-3, as a few thousand steps need
    "anogan": ["model.lr_g=0.001", "model.lr_d=0.001", "model.search_steps=30", "model.search_lr=0.05"],
    "egbad": ["model.lr=0.001"],
    "ganomaly": ["model.lr=0.001"],
    "fanogan": ["model.lr=0.001", "model.lr_encoder=0.001", "model.critic_steps=2"],
}
# AnoGAN's score is a 30-step latent search per tile: at half-tile stride (81 tiles per image) its
# tiled scoring alone would take hours here; tiles side by side (16 per image) cut that fivefold.
ANOGAN_TILE_STRIDE = "model.tile_stride=64"
HOW_CHOSEN = {
    "squeezed": "today's tile budget of benchmarks/anomaly.py (32 px, 1200 steps, width 16, lr 1e-3), unchanged",
    "tiled": ("fixed in advance: 256 px keeps a crack of 1-3 px at native resolution (tiles are 200-400 px) at least "
              "a pixel wide; 64 px patches are a quarter of the side and the DCGAN networks' usual input; stride half "
              "a tile (Hann windows sum to one); width 32 and 3000 steps to stay within 30 minutes of training"),
    "threshold": f"the {QUANTILE} quantile of the held-out normal images' scores (the calibration part of MT_Free)",
    "image_score": f"all of {IMAGE_SCORES} reported; overlays ranked by {OVERLAY_SCORE}, fixed in advance",
    "budget": "train.minutes=30 caps every training run (the issue's limit on this 2-core machine)",
    "anogan_tiled": f"{ANOGAN_TILE_STRIDE}: fixed in advance by scoring cost (30 search steps per tile)",
    "map_sigma": "runs with --set model.map_sigma=4 (results -sigma4): anomalib's default smoothing of its anomaly "
                 "maps (sigma 4 px at 256 px), fixed in advance",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(size: int = 1024, repeats: int = 5) -> float:
    """fp32 matmul throughput of one thread: the machine's speed when the times were taken."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    torch.set_num_threads(threads)
    return 2 * size**3 / best / 1e9


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def job_overrides(name: str, mode: str, seed: int, steps: int | None, extra_settings: list[str]) -> tuple[list[str], int]:
    settings = SETTINGS[mode]
    extra = [f"{k}={v}" for k, v in settings.items() if "." in k] + [f"train.seed={seed}"]
    extra += [f"model.g_width={settings['width']}", f"model.d_width={settings['width']}"]
    total = steps or settings["steps"]
    if name == "anogan" and mode == "tiled":
        extra.append(ANOGAN_TILE_STRIDE)
    if name == "fanogan":
        gan, encoder = settings["fanogan_steps"]
        if steps:  # the tiny check keeps the two stages' proportion
            gan, encoder = (steps * 2) // 3, steps - (steps * 2) // 3
        extra += [f"model.gan_steps={gan}", f"model.encoder_steps={encoder}"]
        total = gan + encoder
    return COMMON + LEARNING_RATE[name] + extra + extra_settings, total


def thresholded(scores: torch.Tensor, normal: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Precision, recall and F1 at the QUANTILE of held-out normal scores."""
    decisions = scores >= torch.quantile(normal, QUANTILE)
    tp = int((decisions & labels).sum())
    return {"precision_at_threshold": tp / max(int(decisions.sum()), 1), "recall_at_threshold": tp / int(labels.sum()),
            "f1_at_threshold": 2 * tp / (int(decisions.sum()) + int(labels.sum()))}


def run_job(args: argparse.Namespace) -> None:
    """Train one detector in one mode with one seed, score the test part, write one JSON row."""
    torch.set_num_threads(args.threads)
    spec = f"magnetic-tile:{args.data}"
    settings = [s for s in args.set if args.detector == "anogan" or not s.startswith("model.search")]
    overrides, steps = job_overrides(args.detector, args.mode, args.seed, args.steps, settings)
    size = SETTINGS[args.mode]["data.image_size"]
    row: dict = {"detector": args.detector, "mode": args.mode, "seed": args.seed, "steps": steps, "overrides": overrides}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = gankit.train(args.detector, data=spec, steps=steps, out=Path(tmp) / "run", overrides=overrides, progress=False)
        row["train_seconds"] = time.perf_counter() - start
        row["trained_steps"] = run.step  # fewer than asked when train.minutes ran out first
        model = gankit.load(run.run_dir)
    config = DataConfig(spec=spec, image_size=size)
    calibration = load_anomaly(config, "calibration")
    test = load_anomaly(config, "test")
    if args.limit_test:
        test = test.subset(torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: args.limit_test])
    start = time.perf_counter()
    output = model.score_dataset(test.data.x)  # model.image_score is "detector": the other two come from the maps
    row["score_seconds"] = time.perf_counter() - start
    row["test_images"] = len(test)
    normal_output = model.score_dataset(calibration.data.x)
    labels = test.is_anomaly
    kinds = sorted({k for k, a in zip(test.kinds, labels.tolist()) if a})
    for how in IMAGE_SCORES:
        scores = image_scores(output.scores, output.maps, how)
        normal = image_scores(normal_output.scores, normal_output.maps, how)
        image = row.setdefault("image", {})[how] = {**image_metrics(scores, labels), **thresholded(scores, normal, labels)}
        for kind in kinds:
            chosen = ~labels | torch.tensor([k == kind for k in test.kinds])
            image[f"auroc[{kind}]"] = image_metrics(scores[chosen], labels[chosen])["auroc"]
    row["calibration_images"] = len(calibration)
    row.update(pixel_metrics(output.maps, test.masks))
    for kind in kinds:
        chosen = ~labels | torch.tensor([k == kind for k in test.kinds])
        if test.masks[chosen].any():
            for key, value in pixel_metrics(output.maps[chosen], test.masks[chosen]).items():
                row[f"{key}[{kind}]"] = value
    if args.seed == 0:
        save_class_overlays(test, output, args.detector, args.mode, args.overlays)
    row["peak_rss_mb"] = peak_rss_mb()
    Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


def save_class_overlays(test, output, detector: str, mode: str, folder: Path) -> None:
    """The 8 most and 8 least anomalous test images of every defect class, at OVERLAY_SIZE px."""
    shrink = lambda t: None if t is None else F.interpolate(t, size=OVERLAY_SIZE, mode="area")  # noqa: E731
    ranking = image_scores(output.scores, output.maps, OVERLAY_SCORE)
    vmax = output.maps.max().item()
    for kind in sorted(set(test.kinds)):
        index = torch.tensor([i for i, k in enumerate(test.kinds) if k == kind])
        x, maps, recon = shrink(test.data.x[index]), shrink(output.maps[index]), shrink(
            None if output.reconstructions is None else output.reconstructions[index])
        for most in (True, False):
            path = Path(folder) / f"{detector}-{mode}" / f"{kind}-{'most' if most else 'least'}.png"
            save_ranked(x, recon, maps, ranking[index], path, min(8, len(index)), most, vmax)


def run_all(args: argparse.Namespace) -> None:
    out = RESULTS / f"magnetic-tile{args.name}.json"
    results = json.loads(out.read_text()) if out.exists() else {"jobs": {}}
    results.update(settings=SETTINGS, extra_settings=args.set, how_chosen=HOW_CHOSEN, common=COMMON, learning_rates=LEARNING_RATE,
                   command=" ".join([Path(sys.executable).name, *sys.argv]), torch=torch.__version__)
    results.setdefault("matmul_gflops", []).append({"when": "start", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                   "gflops": matmul_gflops()})
    overlays = RESULTS / f"magnetic-tile{args.name}"
    for seed in [int(s) for s in args.seeds.split(",")]:
        for mode in args.modes.split(","):
            for detector in args.detectors.split(","):
                key = f"{detector}/{mode}/{seed}"
                if key in results["jobs"]:
                    continue
                with tempfile.NamedTemporaryFile(suffix=".json") as row_file:
                    command = [sys.executable, __file__, "job", "--detector", detector, "--mode", mode, "--seed", str(seed),
                               "--data", args.data, "--out", row_file.name, "--overlays", str(overlays),
                               "--threads", str(args.threads)]
                    for setting in args.set:
                        command += ["--set", setting]
                    if args.tiny:
                        command += ["--steps", "6", "--limit-test", "40", "--set", "model.search_steps=2"]
                    start = time.perf_counter()
                    subprocess.run(command, check=True)
                    row = json.loads(Path(row_file.name).read_text())
                row["wall_seconds"] = time.perf_counter() - start
                results["jobs"][key] = row
                out.write_text(json.dumps(results, indent=2) + "\n")
                best = max(row["image"][how]["auroc"] for how in IMAGE_SCORES)
                print(f"{key}: image AUROC (best score) {best:.3f}, pixel {row['pixel_auroc']:.3f}, "
                      f"AUPRO {row['aupro']:.3f}, train {row['train_seconds']:.0f} s", flush=True)
    results["matmul_gflops"].append({"when": "end", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                     "gflops": matmul_gflops()})
    out.write_text(json.dumps(results, indent=2) + "\n")


def report(args: argparse.Namespace) -> None:
    """Markdown tables (mean ± std over seeds) from the results JSON, printed for docs/BENCHMARKS.md."""
    results = json.loads((RESULTS / f"magnetic-tile{args.name}.json").read_text())
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in results["jobs"].values():
        groups.setdefault((row["detector"], row["mode"]), []).append(row)
    kinds = sorted({k[6:-1] for rows in groups.values() for k in rows[0]["image"]["detector"] if k.startswith("auroc[")})
    lines = ["| detector | mode | seeds | image AUROC (detector / map max / map top 1%) | pixel AUROC | AUPRO | "
             "precision / recall at threshold (top 1%) | train s | score s | peak RSS MB |", "|---" * 10 + "|"]
    for (detector, mode), rows in sorted(groups.items()):
        auroc = " / ".join(mean_std([r["image"][how]["auroc"] for r in rows]) for how in IMAGE_SCORES)
        pr = (f"{mean_std([r['image']['map_top_k']['precision_at_threshold'] for r in rows])} / "
              f"{mean_std([r['image']['map_top_k']['recall_at_threshold'] for r in rows])}")
        lines.append(f"| {detector} | {mode} | {len(rows)} | {auroc} | {mean_std([r['pixel_auroc'] for r in rows])} | "
                     f"{mean_std([r['aupro'] for r in rows])} | {pr} | {mean_std([r['train_seconds'] for r in rows], 0)} | "
                     f"{mean_std([r['score_seconds'] for r in rows], 0)} | {max(r['peak_rss_mb'] for r in rows):.0f} |")
    lines += ["", "| detector | mode | " + " | ".join(f"{k}: image (top 1%) / pixel AUROC / AUPRO" for k in kinds) + " |",
              "|---|---|" + "---|" * len(kinds)]
    for (detector, mode), rows in sorted(groups.items()):
        cells = [f"{mean_std([r['image']['map_top_k'][f'auroc[{k}]'] for r in rows])} / "
                 f"{mean_std([r[f'pixel_auroc[{k}]'] for r in rows])} / {mean_std([r[f'aupro[{k}]'] for r in rows])}"
                 for k in kinds]
        lines.append(f"| {detector} | {mode} | " + " | ".join(cells) + " |")
    gflops = ", ".join(f"{m['when']} {m['gflops']:.1f}" for m in results["matmul_gflops"])
    lines += ["", f"Matmul peak (fp32, one thread, GFLOP/s) measured in the same run: {gflops}.",
              f"Command: `{results['command']}`; settings and how each was chosen: `how_chosen` in the JSON."]
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="job", required=True)
    every = sub.add_parser("run", help="every detector, mode and seed, one job at a time")
    every.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "magnetic-tile"))
    every.add_argument("--seeds", default="0,1,2")
    every.add_argument("--modes", default=",".join(MODES))
    every.add_argument("--detectors", default=",".join(DETECTORS))
    every.add_argument("--threads", type=int, default=1)
    every.add_argument("--tiny", action="store_true", help="6 training steps and 40 test images: checks the script")
    every.add_argument("--name", default="", help="suffix of the results file and overlay folder")
    every.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="a config override for every job (repeatable; recorded in the results as extra_settings)")
    one = sub.add_parser("job", help="one detector, mode and seed (what `run` starts in a fresh process)")
    one.add_argument("--detector", choices=DETECTORS, required=True)
    one.add_argument("--mode", choices=MODES, required=True)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--data", required=True)
    one.add_argument("--out", required=True)
    one.add_argument("--overlays", type=Path, required=True)
    one.add_argument("--threads", type=int, default=1)
    one.add_argument("--steps", type=int)
    one.add_argument("--limit-test", type=int, help="score a fixed random subset of the test part")
    one.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeatable)")
    summary = sub.add_parser("report", help="print the tables from the results JSON")
    summary.add_argument("--name", default="")
    args = parser.parse_args()
    {"run": run_all, "job": run_job, "report": report}[args.job](args)


if __name__ == "__main__":
    main()
