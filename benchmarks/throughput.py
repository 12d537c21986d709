"""Throughput of every variant on this machine, against the machine's own measured peak.

For each variant at its packaged default size (src/gankit/configs/*.yaml, default data):
  * training: images per second of the loop's train step, the share of the step time spent
    fetching the batch, FLOPs per image (torch.utils.flop_counter counts every matmul and
    convolution, backward and double backward included), the achieved FLOP rate and its share
    of the peak; at fp32, at bf16 (autocast) and with channels_last;
  * the variant's job: sampling (generators), translation (cyclegan) or scoring (anomaly models);
  * the DCGAN train step at 64 px (width 64, batch 64), the compute-bound case, also compiled.
The peak is the best of several large fp32 (and bf16) matrix products in the same process.
FLOPs are counted over one window of steps and timed over the next one (same step mix).

    python benchmarks/throughput.py                  # every variant (~10 min on 2 cores)
    python benchmarks/throughput.py --quick          # a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import gankit  # noqa: E402
from gankit import api  # noqa: E402
from gankit.models import MODELS  # noqa: E402
from gankit.training.loop import Trainer  # noqa: E402

QUIET = ["train.progress=false", "train.eval_metrics=[]", "train.device=cpu"]
DCGAN_64 = ["data.image_size=64", "model.g_width=64", "model.d_width=64", "train.batch_size=64"]


class CountFlops(TorchDispatchMode):
    """FLOPs of every matrix product and convolution (forward, backward, double backward), by
    torch's own formulas (torch.utils.flop_counter.flop_registry). FlopCounterMode itself is not
    used: its per-module tracker's hooks fail inside autograd.grad (the gradient penalties)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def matmul_peak(dtype: torch.dtype, n: int, repeats: int) -> float:
    """Best FLOP/s of an n x n x n matrix product (2 n^3 FLOPs)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)  # warm-up: thread pool, oneDNN kernels
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def trainer_for(name: str, overrides: list[str], out: Path) -> Trainer:
    config = api.make_config(name, overrides=QUIET + overrides, steps=10**9)
    trainer = Trainer(config, out)
    trainer.setup()
    return trainer


def measure_train(trainer: Trainer, warmup: int, steps: int) -> dict:
    """Images/s, data share and FLOPs of ``steps`` train steps after ``warmup`` ones."""

    def one() -> tuple[float, float]:
        start = time.perf_counter()
        batch = trainer.next_batch()
        fetched = time.perf_counter()
        trainer.train_step(batch)
        return fetched - start, time.perf_counter() - fetched

    for _ in range(warmup):
        one()
    with CountFlops() as counter:
        for _ in range(steps):
            one()
    times = [one() for _ in range(steps)]
    data, compute = sum(t[0] for t in times), sum(t[1] for t in times)
    images = steps * trainer.config.train.batch_size
    flops = counter.total
    return {
        "images_per_s": images / (data + compute),
        "data_share": data / (data + compute),
        "flops_per_image": flops / images,
        "flop_rate": flops / (data + compute),
    }


def measure_job(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> dict | None:
    """Images/s and FLOPs of the variant's own job on a batch ``x``: sample, translate or score."""
    capabilities = model.capabilities()
    if "translate" in capabilities:
        job, call = "translate", lambda: model.translate(x, "a2b")
    elif "anomaly_score" in capabilities:
        job, call = "score", lambda: model.anomaly_score(x)
    elif "sample" in capabilities:
        job, call = "sample", lambda: model.sample(x.shape[0])
    else:
        return None
    call()  # warm-up
    with CountFlops() as counter:
        call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    seconds = (time.perf_counter() - start) / repeats
    return {"job": job, "images_per_s": x.shape[0] / seconds, "flops_per_image": counter.total / x.shape[0],
            "flop_rate": counter.total / seconds}


def run_variant(name: str, extra: list[str], args: argparse.Namespace, work: Path) -> dict:
    row: dict = {"variant": name, "settings": " ".join(extra) or "defaults"}
    for mode, overrides in [("fp32", []), ("bf16", ["train.precision=bf16"]), ("channels_last", ["train.channels_last=true"])]:
        trainer = trainer_for(name, extra + overrides, work / f"{name}-{mode}-{len(extra)}")
        row[mode] = measure_train(trainer, args.warmup, args.steps)
        if mode == "fp32":
            row["batch_size"] = trainer.config.train.batch_size
            row["shape"] = list(trainer.data.shape)
            x = trainer.next_batch()[0]
            trainer.model.eval()
            row["job"] = measure_job(trainer.model, x, args.job_repeats)
        print(f"{name:9s} {mode:13s} {row[mode]['images_per_s']:9.1f} img/s  "
              f"{row[mode]['flop_rate'] / 1e9:7.1f} GFLOP/s  data {row[mode]['data_share']:.1%}", flush=True)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def run_compiled(name: str, extra: list[str], args: argparse.Namespace, work: Path) -> dict:
    """torch.compile: the first steps pay for compilation; the rate is measured after them."""
    trainer = trainer_for(name, extra + ["train.compile=true"], work / f"{name}-compiled-{len(extra)}")
    start = time.perf_counter()
    trainer.train_step(trainer.next_batch())
    compile_seconds = time.perf_counter() - start
    result = measure_train(trainer, args.warmup, args.steps)
    print(f"{name:9s} compiled      {result['images_per_s']:9.1f} img/s  (compiling took {compile_seconds:.0f} s)", flush=True)
    return {"variant": name, "settings": " ".join(extra) or "defaults", "compile_seconds": compile_seconds, **result}


def markdown(report: dict) -> str:
    peak, peak_bf16 = report["peak_fp32"], report["peak_bf16"]
    lines = [
        f"Machine: {report['machine']}; torch {report['torch']}; {report['threads']} threads; {report['date']}; "
        f"wall time {report['wall_seconds'] / 60:.1f} min; peak RSS {report['peak_rss_mb']:.0f} MB.",
        f"Measured peak (best {report['matmul_n']}^3 matrix product): fp32 {peak / 1e9:.0f} GFLOP/s, "
        f"bf16 {peak_bf16 / 1e9:.0f} GFLOP/s ({peak_bf16 / peak:.2f}x).",
        "",
        "| variant | settings | batch | train img/s fp32 | data share | MFLOP/img | GFLOP/s | % of fp32 peak "
        "| bf16 img/s (x fp32) | channels_last img/s (x fp32) | job | job img/s | job % of peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["variants"]:
        fp32, bf16, cl, job = row["fp32"], row["bf16"], row["channels_last"], row["job"]
        job_cells = [job["job"], f"{job['images_per_s']:.1f}", f"{job['flop_rate'] / peak:.1%}"] if job else ["-", "-", "-"]
        lines.append(
            f"| {row['variant']} | {row['settings']} | {row['batch_size']} | {fp32['images_per_s']:.1f} | "
            f"{fp32['data_share']:.1%} | {fp32['flops_per_image'] / 1e6:.1f} | {fp32['flop_rate'] / 1e9:.1f} | "
            f"{fp32['flop_rate'] / peak:.1%} | {bf16['images_per_s']:.1f} ({bf16['images_per_s'] / fp32['images_per_s']:.2f}x) | "
            f"{cl['images_per_s']:.1f} ({cl['images_per_s'] / fp32['images_per_s']:.2f}x) | " + " | ".join(job_cells) + " |"
        )
    if report["compiled"]:
        lines += ["", "| compiled variant | settings | img/s | x eager fp32 | % of fp32 peak | compile time |", "|---|---|---|---|---|---|"]
        eager = {(r["variant"], r["settings"]): r["fp32"] for r in report["variants"]}
        for row in report["compiled"]:
            base = eager.get((row["variant"], row["settings"]))
            ratio = f"{row['images_per_s'] / base['images_per_s']:.2f}x" if base else "-"
            lines.append(f"| {row['variant']} | {row['settings']} | {row['images_per_s']:.1f} | {ratio} | "
                         f"{row['flop_rate'] / peak:.1%} | {row['compile_seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads (default: all cores)")
    parser.add_argument("--steps", type=int, default=10, help="train steps per measurement window")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--job-repeats", type=int, default=3)
    parser.add_argument("--matmul-n", type=int, default=2048)
    parser.add_argument("--variants", default=",".join(MODELS))
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurements")
    parser.add_argument("--quick", action="store_true", help="2 steps, 1 variant, no compile: checks the script runs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "throughput-cpu")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.job_repeats, args.matmul_n, args.variants, args.no_compile = 2, 1, 1, 512, "gan", True
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = {
        "command": " ".join(["python", "benchmarks/throughput.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, cpu {platform.processor() or 'unknown'}",
        "torch": torch.__version__, "gankit": gankit.__version__, "threads": args.threads,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "matmul_n": args.matmul_n,
        "peak_fp32": matmul_peak(torch.float32, args.matmul_n, 10),
        "peak_bf16": matmul_peak(torch.bfloat16, args.matmul_n, 10),
        "variants": [], "compiled": [],
    }
    print(f"peak: fp32 {report['peak_fp32'] / 1e9:.0f} GFLOP/s, bf16 {report['peak_bf16'] / 1e9:.0f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        jobs = [(name, []) for name in args.variants.split(",")]
        if not args.quick:
            jobs.append(("gan", DCGAN_64))
        for name, extra in jobs:
            report["variants"].append(run_variant(name, extra, args, work))
        if not args.no_compile:
            for name, extra in [("gan", []), ("gan", DCGAN_64), ("wgan_gp", [])]:
                report["compiled"].append(run_compiled(name, extra, args, work))
    report["wall_seconds"] = time.perf_counter() - started
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
