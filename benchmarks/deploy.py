"""Exported inference against eager PyTorch, and the service under a bounded load, on this machine.

For each exportable variant at its packaged default size (a 2-step run: speed does not depend on
the weights): the job (sampling, translation a2b, scoring) run eagerly, by ONNX Runtime and by
TorchScript on the same inputs, as latency per image at batch 1 and images/s at batch 64, with
the ratios to eager; the machine's fp32 matmul peak is measured in the same process. Then
``gankit serve`` (a subprocess on a free localhost port) answers a fixed number of POST /score
requests, first one at a time (its batch-1 cost against ONNX Runtime's) and then from concurrent
clients: requests/s, p50/p99 latency, errors and the server's resident memory over the run. The
load test stops by itself (fixed request count, and a time limit).

    python benchmarks/deploy.py                       # every variant + the load test (~10 min on 2 cores)
    python benchmarks/deploy.py --quick               # tiny networks, few repeats: checks the script runs
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gankit  # noqa: E402
from gankit import api  # noqa: E402
from gankit.deploy import load  # noqa: E402
from gankit.export import export_run  # noqa: E402
from gankit.export.jobs import jobs_for  # noqa: E402
from throughput import matmul_peak  # noqa: E402

VARIANTS = ["gan", "wgan_gp", "stylegan", "cyclegan", "egbad", "ganomaly", "fanogan"]
QUIET = ["train.progress=false", "train.eval_metrics=[]", "train.device=cpu", "train.sample_every=1000000",
         "train.checkpoint_every=1000000"]
DETECTOR = ["data.anomaly_classes=0", "model.max_calibration_images=256"]
TINY = {"gan": ["model.g_width=8", "model.d_width=8", "model.latent_dim=8"],
        "stylegan": ["model.g_width=4", "model.d_width=4", "model.max_width=8", "model.latent_dim=8", "model.w_dim=8",
                     "model.mapping_depth=2", "data.image_size=8"],
        "cyclegan": ["model.g_width=4", "model.d_width=4", "model.blocks=1", "data.image_size=16"]}


def trained(name: str, work: Path, quick: bool) -> Path:
    overrides = QUIET + (DETECTOR if name in ("egbad", "ganomaly", "fanogan") else [])
    if name == "fanogan":
        overrides += ["model.gan_steps=1", "model.encoder_steps=1"]
    if quick:
        overrides += TINY.get(name, TINY["gan"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api.train(name, steps=2, out=work / name, overrides=overrides, progress=False)
    return work / name


def best_seconds(call, repeats: int) -> float:
    call()  # warm-up: thread pools, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_variant(name: str, work: Path, args: argparse.Namespace) -> dict:
    run = trained(name, work, args.quick)
    model = api.load(run)
    job = jobs_for(model)[0]
    onnx_file = export_run(run, "onnx", work / f"{name}.onnx")[0]
    torchscript = torch.jit.load(str(export_run(run, "torchscript", work / f"{name}.pt")[0]))
    session = load(onnx_file, threads=args.threads)
    row = {"variant": name, "job": job.name, "data_shape": list(model.data_shape)}
    for batch in (1, args.batch):
        inputs = {key: (value if key == "psi" else value[:1].expand(batch, *value.shape[1:]).contiguous())
                  for key, value in job.inputs.items()}
        arrays = {key: value.numpy() for key, value in inputs.items()}
        with torch.no_grad():
            runners = {
                "eager": lambda: job.module(*inputs.values()),
                "onnxruntime": lambda: session.run(arrays),
                "torchscript": lambda: torchscript(*inputs.values()),
            }
            seconds = {key: best_seconds(call, args.repeats) for key, call in runners.items()}
        key = "batch1_ms_per_image" if batch == 1 else f"batch{batch}_images_per_s"
        row[key] = {k: (s * 1000 if batch == 1 else batch / s) for k, s in seconds.items()}
        row[key.split("_")[0] + "_speedup"] = {k: seconds["eager"] / s for k, s in seconds.items() if k != "eager"}
    print(json.dumps(row), flush=True)
    return row


# --- the service under load ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def png_of(shape: list[int]) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (shape[1], shape[2], shape[0]), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if shape[0] == 1 else pixels).save(buffer, "png")
    return buffer.getvalue()


async def hammer(url: str, image: bytes, requests: int, concurrency: int, limit_s: float, pid: int) -> dict:
    import httpx

    latencies, errors, memory = [], 0, [rss_mb(pid)]
    remaining = iter(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for _ in remaining:
            start = time.perf_counter()
            response = await http.post(url + "score", files=[("files", ("x.png", image, "image/png"))])
            latencies.append(time.perf_counter() - start)
            errors += response.status_code != 200
            if len(latencies) % max(requests // 20, 1) == 0:
                memory.append(rss_mb(pid))

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.wait_for(asyncio.gather(*(client(http) for _ in range(concurrency))), limit_s)
    wall = time.perf_counter() - started
    memory.append(rss_mb(pid))
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "concurrency": concurrency, "requests_per_s": len(ms) / wall, "errors": errors,
            "p50_ms": ms[len(ms) // 2], "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
            "rss_mb_start": memory[0], "rss_mb_end": memory[-1], "rss_mb_max": max(memory)}


def load_test(onnx_file: Path, shape: list[int], args: argparse.Namespace) -> dict:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(args.threads)}
    server = subprocess.Popen([sys.executable, "-m", "gankit", "serve", str(onnx_file), "--port", str(port),
                               "--max-queue", "4096"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gankit serve did not start: {server.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        image = png_of(shape)
        single = asyncio.run(hammer(url, image, args.requests // 4, 1, args.limit_s, server.pid))
        loaded = asyncio.run(hammer(url, image, args.requests, args.concurrency, args.limit_s, server.pid))
        return {"one_at_a_time": single, "concurrent": loaded}
    finally:
        server.terminate()
        server.wait(timeout=30)


def markdown(report: dict) -> str:
    lines = [f"Command: `{report['command']}`", "",
             f"{report['machine']}; torch {report['torch']}, onnxruntime {report['onnxruntime']}, "
             f"{report['threads']} threads; fp32 matmul peak {report['peak_fp32'] / 1e9:.0f} GFLOP/s "
             f"({report['date']}).", "",
             f"| variant | job | eager ms/image (b=1) | ORT speed-up b=1 | TorchScript b=1 | eager images/s "
             f"(b={report['batch']}) | ORT speed-up b={report['batch']} | TorchScript b={report['batch']} |", "|---|---|---|---|---|---|---|---|"]
    big = f"batch{report['batch']}"
    for r in report["variants"]:
        b1, b64 = r["batch1_speedup"], r[f"{big}_speedup"]
        lines.append(f"| {r['variant']} | {r['job']} | {r['batch1_ms_per_image']['eager']:.2f} | "
                     f"{b1['onnxruntime']:.2f}x | {b1['torchscript']:.2f}x | {r[f'{big}_images_per_s']['eager']:.0f} | "
                     f"{b64['onnxruntime']:.2f}x | {b64['torchscript']:.2f}x |")
    service = report.get("service")
    if service:
        lines += ["", f"Service ({service['variant']}, POST /score with one image):", "",
                  "| clients | requests | req/s | p50 ms | p99 ms | errors | RSS MB start -> end (max) |",
                  "|---|---|---|---|---|---|---|"]
        for s in (service["one_at_a_time"], service["concurrent"]):
            lines.append(f"| {s['concurrency']} | {s['requests']} | {s['requests_per_s']:.1f} | {s['p50_ms']:.1f} | "
                         f"{s['p99_ms']:.1f} | {s['errors']} | {s['rss_mb_start']:.0f} -> {s['rss_mb_end']:.0f} "
                         f"({s['rss_mb_max']:.0f}) |")
        lines += ["", f"One request at a time, p50 over ONNX Runtime's batch-1 time: {service['overhead_ratio']:.2f}x."]
    return "\n".join(lines) + "\n"


def main() -> None:
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="threads for all three (default: all cores)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--serve-variant", default="ganomaly", help="the variant behind the load test ('' skips it)")
    parser.add_argument("--requests", type=int, default=2000, help="requests of the concurrent load test")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit-s", type=float, default=300, help="time limit of each load phase")
    parser.add_argument("--quick", action="store_true", help="tiny networks, 2 repeats, 2 variants, 40 requests")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "deploy-cpu")
    args = parser.parse_args()
    if args.quick:
        args.variants, args.repeats, args.batch, args.requests, args.concurrency = "gan,ganomaly", 2, 8, 40, 4
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = {
        "command": " ".join(["python", "benchmarks/deploy.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, cpu {platform.processor() or 'unknown'}",
        "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "gankit": gankit.__version__,
        "threads": args.threads, "batch": args.batch, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "peak_fp32": matmul_peak(torch.float32, 512 if args.quick else 2048, 10), "variants": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.variants.split(","):
            report["variants"].append(measure_variant(name, work, args))
        if args.serve_variant:
            row = next((r for r in report["variants"] if r["variant"] == args.serve_variant), None)
            if row is None:
                row = measure_variant(args.serve_variant, work, args)
            service = load_test(work / f"{args.serve_variant}.onnx", row["data_shape"], args)
            service["variant"] = args.serve_variant
            service["overhead_ratio"] = service["one_at_a_time"]["p50_ms"] / row["batch1_ms_per_image"]["onnxruntime"]
            report["service"] = service
    report["wall_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
