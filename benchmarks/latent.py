"""Benchmark: projection (GAN inversion) and inpainting by latent search (Yeh et al. 2017) on
held-out MNIST / Fashion-MNIST test images, for already trained runs of any generator family.

Projection: pixel error of the projections beside the nearest training image (what memorising
the training set would give). Inpainting, per mask (centre 40% of the area; three random boxes):
L1 and PSNR inside the hole and the label kept (gankit's `classifier` judge on the filled image
against the true label), for the GAN fill against three baselines: the mean training image, the
nearest training image on the known pixels, and a diffusion fill (harmonic: Laplace's equation
with the known pixels as boundary, the blur that fills a hole smoothly); and whether the known
pixels came back bit-identical. Speed: images per second, batched against one at a time.

    PYTHONPATH=src:. python benchmarks/latent.py --runs runs/gan-mnist runs/stylegan-mnist --n 1000
    PYTHONPATH=src:. python benchmarks/latent.py --runs runs/gan-mnist --n 20 --steps 5 --speed-images 4 --tag -smoke
    # -> benchmarks/results/latent{tag}.json and .md
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

import gankit
from benchmarks.throughput import matmul_peak  # the machine's speed, measured in the same run
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.dataset import DataSpec
from gankit.errors import GankitError
from gankit.latent.blend import alpha_blend, poisson_blend
from gankit.latent.inpaint import inpaint
from gankit.latent.masks import generated_masks
from gankit.latent.project import project
from gankit.latent.search import projector_options
from gankit.latent.space import default_space
from gankit.metrics.features.classifier import load_classifier, train_classifier
from gankit.metrics.translation import predictions

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("gan", "mean image", "nearest training image", "diffusion")


def judge(config: DataConfig, epochs: int):
    """gankit's cached classifier for the run's data (the `classifier` features), trained once if missing."""
    try:
        return load_classifier(config)
    except GankitError:
        return train_classifier(config, epochs=epochs)


def run_data(model, spec: str | None, split: str) -> DataConfig:
    """The run's data set at the model's size, all classes, ``split``: the plain split, never a
    detector's anomaly protocol (its fit part leaves the anomaly classes out, and its test part is
    another split than the data set's own)."""
    config = model.run_config.data
    changes = {"split": split, "classes": None, "normal_classes": None, "anomaly_classes": None,
               "image_size": model.data_shape[-1], "channels": model.data_shape[0]}
    if spec:
        changes["spec"] = spec
    return replace(config, **changes)


def psnr(a: Tensor, b: Tensor, where: Tensor) -> Tensor:
    """Per image [N]: PSNR in dB over the pixels ``where`` (bool, broadcast), images in [-1, 1] (peak 2)."""
    where = where.expand_as(a).float()
    mse = ((a - b).square() * where).flatten(1).sum(1) / where.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-10))


def masked_l1(a: Tensor, b: Tensor, where: Tensor) -> Tensor:
    where = where.expand_as(a).float()
    return ((a - b).abs() * where).flatten(1).sum(1) / where.flatten(1).sum(1).clamp_min(1)  # [N], [-1, 1] units


def nearest(x: Tensor, train: Tensor, known: Tensor | None = None, chunk: int = 4096) -> Tensor:
    """Index of each image's nearest training image [N] by squared distance over ``known`` pixels
    (all when None): sum m (x - t)^2 = sum m x^2 - 2 (m x) . t + m . t^2, in chunks of the training set."""
    flat_x, flat_t = x.flatten(1), train.flatten(1)  # [N, P], [K, P]
    m = torch.ones_like(flat_x) if known is None else known.expand_as(x).flatten(1).float()
    best = torch.full((x.shape[0],), float("inf"))
    index = torch.zeros(x.shape[0], dtype=torch.long)
    for start in range(0, flat_t.shape[0], chunk):
        t = flat_t[start : start + chunk]
        d = (m * flat_x.square()).sum(1, keepdim=True) - 2 * (m * flat_x) @ t.T + m @ t.square().T  # [N, k]
        value, where = d.min(1)
        better = value < best
        best[better], index[better] = value[better], where[better] + start
    return index


def batched(fn, x: Tensor, *rest: Tensor, batch_size: int) -> list:
    return [fn(x[i : i + batch_size], *(r[i : i + batch_size] for r in rest)) for i in range(0, x.shape[0], batch_size)]


def projection_rows(model, x: Tensor, train: Tensor, space: str, options, batch_size: int) -> dict:
    results = batched(lambda chunk: project(model, chunk, space=space, options=options), x, batch_size=batch_size)
    images = torch.cat([r.images.cpu() for r in results])
    memorised = train[nearest(x, train)]
    everywhere = torch.ones(1, 1, *x.shape[2:], dtype=torch.bool)
    return {
        "gan": {"l1": masked_l1(images, x, everywhere).mean().item(), "psnr": psnr(images, x, everywhere).mean().item()},
        "nearest training image": {"l1": masked_l1(memorised, x, everywhere).mean().item(),
                                   "psnr": psnr(memorised, x, everywhere).mean().item()},
    }


def inpainting_rows(model, x, y, train, hole, space, options, batch_size, classify, context) -> dict:
    results = batched(lambda chunk, h: inpaint(model, chunk, h, space=space, options=options, context=context), x, hole,
                      batch_size=batch_size)
    gan = torch.cat([r.filled for r in results])
    fills = {
        "gan": gan,
        "mean image": alpha_blend(x, train.mean(0, keepdim=True).expand_as(x), hole),
        "nearest training image": alpha_blend(x, train[nearest(x, train, ~hole)], hole),
        "diffusion": poisson_blend(x, torch.zeros_like(x), hole),  # no guidance: Laplace's equation
    }
    rows = {}
    for method, filled in fills.items():
        rows[method] = {
            "l1": masked_l1(filled, x, hole).mean().item(),
            "psnr": psnr(filled, x, hole).mean().item(),
            "label_kept": (classify(filled) == y).float().mean().item(),
        }
    rows["gan"]["known_pixels_identical"] = bool(torch.equal(gan[~hole.expand_as(x)], x[~hole.expand_as(x)]))
    rows["target_met"] = all(rows["gan"][k] > rows[m][k] for m in METHODS[1:] for k in ("psnr", "label_kept"))
    return rows


def speed(model, x: Tensor, space: str, options, batch_size: int, context: str) -> dict:
    """Images per second for projection and inpainting, the whole batch at once and one image at a time."""
    hole = generated_masks("center:0.4", x.shape[0], x.shape[-1])
    jobs = {
        "projection": lambda xs, hs: project(model, xs, space=space, options=options),
        "inpainting": lambda xs, hs: inpaint(model, xs, hs, space=space, options=options, context=context),
    }
    rows = {}
    for task, job in jobs.items():
        timings = {}
        for mode, size in (("batched", batch_size), ("one at a time", 1)):
            start = time.perf_counter()
            batched(job, x, hole, batch_size=size)
            timings[mode] = x.shape[0] / (time.perf_counter() - start)
        rows[task] = timings
    return rows


def markdown(results: dict) -> str:
    minutes = sum(run["minutes"] for run in results["runs"])
    lines = [f"Latent search: {results['steps']} steps, {results['restarts']} restart(s), {results['n']} {results.get('split', 'test')} images "
             f"per run, {results.get('context', 'weighted')} context, {results['threads']} thread(s), {results['device']}, torch {results['torch']}, {results['date']}; "
             f"fp32 matmul peak {results['peak_gflops']:.0f} GFLOP/s in the same run; {minutes:.1f} min for "
             f"{len(results['runs'])} run(s), peak RSS {results['peak_rss_mb']:.0f} MB.", ""]
    lines += ["| run | data | space | projection L1 | PSNR (dB) | nearest training image L1 | PSNR (dB) |", "|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        p = run["projection"]
        lines.append(f"| {run['model']} | {run['data']} | {run['space']} | {p['gan']['l1']:.3f} | {p['gan']['psnr']:.2f} | "
                     f"{p['nearest training image']['l1']:.3f} | {p['nearest training image']['psnr']:.2f} |")
    lines += ["", "Inpainting, inside the hole (L1 in [-1, 1] units; label kept: the classifier's label of the filled "
              "image is the true one).", "",
              "| run | mask | method | hole L1 | hole PSNR (dB) | label kept | known pixels identical |", "|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        for mask, rows in run["inpainting"].items():
            for method in METHODS:
                r = rows[method]
                identical = {True: "yes", False: "NO"}.get(r.get("known_pixels_identical"), "")
                lines.append(f"| {run['model']} | {mask} | {method} | {r['l1']:.3f} | {r['psnr']:.2f} | "
                             f"{r['label_kept']:.1%} | {identical} |")
            lines.append(f"| {run['model']} | {mask} | target met (GAN beats every baseline on PSNR and label kept) | "
                         f"| | {'yes' if rows['target_met'] else 'no'} | |")
    lines += ["", f"Speed (images per second, {results['speed_images']} images, batch {results['batch_size']}).", "",
              "| run | task | batched | one at a time | speed-up |", "|---|---|---|---|---|"]
    for run in results["runs"]:
        for task, t in run["speed"].items():
            lines.append(f"| {run['model']} | {task} | {t['batched']:.2f} | {t['one at a time']:.2f} | "
                         f"{t['batched'] / t['one at a time']:.1f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="trained run directories (MNIST or Fashion-MNIST)")
    parser.add_argument("--data", help="the runs' data spec, when their stored path is not valid here")
    parser.add_argument("--n", type=int, default=1000, help="held-out test images per run (default 1000)")
    parser.add_argument("--steps", type=int, default=300, help="latent-search steps (default 300)")
    parser.add_argument("--restarts", type=int, default=1)
    parser.add_argument("--space", help="z, w or w+ (default: w for stylegan, z otherwise)")
    parser.add_argument("--masks", default="center:0.4,random-boxes:3")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--speed-images", type=int, default=32, help="images timed batched and one at a time")
    parser.add_argument("--classifier-epochs", type=int, default=3, help="when a judge is not cached yet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--context", default="weighted", choices=["weighted", "uniform"],
                        help="inpainting's contextual loss: Yeh et al.'s weights near the hole, or every known pixel alike")
    parser.add_argument("--split", default="test", choices=["test", "train"],
                        help="where the images come from: train only to choose settings (its nearest training image is itself)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = projector_options(steps=args.steps, restarts=args.restarts)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "peak_gflops": matmul_peak(torch.float32, 1024, 20) / 1e9,
               "n": args.n, "steps": args.steps, "context": args.context, "split": args.split, "restarts": args.restarts, "batch_size": args.batch_size,
               "speed_images": args.speed_images, "threads": args.threads, "device": args.device,
               "torch": torch.__version__, "runs": []}
    for run_dir in args.runs:
        model = gankit.load(run_dir, device=args.device)
        space = args.space or default_space(model)
        test = load_data(run_data(model, args.data, args.split))
        train = load_data(run_data(model, args.data, "train")).x  # [K, C, H, W]
        chosen = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: args.n]
        x, y = test.x[chosen], test.y[chosen]
        classifier = judge(run_data(model, args.data, "train"), args.classifier_epochs)
        classify = lambda images: predictions(classifier, images)  # noqa: E731
        print(f"{run_dir}: {model.run_config.model_name} on {test.name}, {space} space, {len(x)} test images")
        started = time.perf_counter()
        record = {
            "run": str(run_dir), "model": model.run_config.model_name, "data": DataSpec.of(test.name).prefix, "space": space,
            "training_steps": model.step, "judge_accuracy_on_originals": (classify(x) == y).float().mean().item(),
            "projection": projection_rows(model, x, train, space, options, args.batch_size),
            "inpainting": {
                mask: inpainting_rows(model, x, y, train, generated_masks(mask, len(x), x.shape[-1], seed=0), space,
                                      options, args.batch_size, classify, args.context)
                for mask in args.masks.split(",")
            },
            "speed": speed(model, x[: args.speed_images], space, options, args.batch_size, args.context),
        }
        record["minutes"] = (time.perf_counter() - started) / 60
        results["runs"].append(record)
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        write(results, args.tag)  # after every run, so a stopped benchmark keeps what it measured
    print(markdown(results))


def write(results: dict, tag: str) -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"latent{tag}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"latent{tag}.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
