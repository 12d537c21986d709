"""Exported inference against eager PyTorch, and the service against raw inference, on this machine.

For each exportable variant (a 2-step run: speed does not depend on the weights), at its packaged
default size or at another one (``NAME@SIZE``: ``ganomaly@128`` sets data.image_size=128, a
realistically sized detector): the job (sampling, translation a2b, scoring) run by gankit's own
PyTorch API ("eager", what the parity tests compare the files to), by ONNX Runtime and by
TorchScript on the same inputs, as latency per image at batch 1 and images/s at batch 64, with the
ratios to eager. The runners take turns, so a change of load biases none of them. The machine's
fp32 matmul peak is measured in the same process.

Then, per served variant, ``gankit serve --threads T`` (a subprocess on a free localhost port, the
same ONNX Runtime threads as above) answers POST /score: one request at a time with the pictures
(image, reconstruction, heat map: what the web page asks for) and without them (``maps=false``),
from a lean keep-alive client (the standard library's; httpx's client spent 1.4 ms of CPU per
request, which on a shared core is latency the service did not cause); then from concurrent httpx
clients. Per phase: requests/s, p50/p99 latency, the p50 over and above ONNX Runtime's batch-1 time
(ms and ratio), the server's CPU time per request, errors and its resident memory. Each phase stops
by itself (a fixed request count, or the time limit).

    python benchmarks/deploy.py                       # every variant + the services (~20 min on 2 cores)
    python benchmarks/deploy.py --quick               # tiny networks, few repeats: checks the script runs
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
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
from gankit.export.jobs import NOISE_SEED, jobs_for  # noqa: E402
from gankit.models import MODELS  # noqa: E402
from gankit.models.detector import AnomalyDetector  # noqa: E402
from throughput import matmul_peak  # noqa: E402

VARIANTS = ["gan", "wgan_gp", "stylegan", "cyclegan", "egbad", "ganomaly", "fanogan", "alad", "ganomaly@128"]
SERVED = ["ganomaly", "ganomaly@128"]  # the packaged 16 px detector (0.2 ms a call) and a 128 px one (tens of ms)
QUIET = ["train.progress=false", "train.eval_metrics=[]", "train.device=cpu", "train.sample_every=1000000",
         "train.checkpoint_every=1000000"]
DETECTOR = ["data.anomaly_classes=0", "model.max_calibration_images=256"]
TINY = {"gan": ["model.g_width=8", "model.d_width=8", "model.latent_dim=8"],
        "stylegan": ["model.g_width=4", "model.d_width=4", "model.max_width=8", "model.latent_dim=8", "model.w_dim=8",
                     "model.mapping_depth=2", "data.image_size=8"],
        "cyclegan": ["model.g_width=4", "model.d_width=4", "model.blocks=1", "data.image_size=16"]}


def trained(spec: str, work: Path, quick: bool) -> Path:
    """A 2-step run of ``spec``: a variant's name, or NAME@SIZE for another image size."""
    name, _, size = spec.partition("@")
    overrides = QUIET + (DETECTOR if issubclass(MODELS[name], AnomalyDetector) else [])
    if name == "fanogan":
        overrides += ["model.gan_steps=1", "model.encoder_steps=1"]
    if quick:
        overrides += TINY.get(name, TINY["gan"])
    if size:
        overrides += [f"data.image_size={size}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api.train(name, steps=2, out=work / spec, overrides=overrides, progress=False)
    return work / spec


def median_seconds(runners: dict, repeats: int) -> dict[str, float]:
    """Median seconds per call of each runner. The runners take turns (in a rotating order) rather
    than each running its repeats in a block, so that a change of load on a shared machine during
    the measurement biases none of them against the others."""
    for call in runners.values():
        call()  # warm-up: thread pools, kernel selection
    times: dict[str, list[float]] = {key: [] for key in runners}
    keys = list(runners)
    for repeat in range(repeats):
        for key in keys[repeat % len(keys):] + keys[: repeat % len(keys)]:
            start = time.perf_counter()
            runners[key]()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def eager_runner(model, job, inputs: dict):
    """The job as gankit's own PyTorch API computes it (what the parity tests compare the files to).
    For every variant but StyleGAN that is the exported module itself; StyleGAN's file records each
    upsampling conv as an equivalent transposed conv (export/jobs.py), which eager sampling does not."""
    if "psi" not in inputs:
        return lambda: job.module(*inputs.values())
    n, psi = len(inputs["z"]), float(inputs["psi"])
    noise = model.make_noise(n, torch.Generator().manual_seed(NOISE_SEED), shared=True)
    return lambda: model.synthesize(model.styles(inputs["z"], psi), noise=noise)


def measure_variant(spec: str, work: Path, args: argparse.Namespace) -> dict:
    run = trained(spec, work, args.quick)
    model = api.load(run)
    job = jobs_for(model)[0]
    onnx_file = export_run(run, "onnx", work / f"{spec}.onnx")[0]
    torchscript = torch.jit.load(str(export_run(run, "torchscript", work / f"{spec}.pt")[0]))
    session = load(onnx_file, threads=args.threads)
    row = {"variant": spec, "job": job.name, "data_shape": list(model.data_shape)}
    for batch in (1, args.batch):
        inputs = {key: (value if key == "psi" else value[:1].expand(batch, *value.shape[1:]).contiguous())
                  for key, value in job.inputs.items()}
        arrays = {key: value.numpy() for key, value in inputs.items()}
        with torch.no_grad():
            runners = {
                "eager": eager_runner(model, job, inputs),
                "onnxruntime": lambda: session.run(arrays),
                "torchscript": lambda: torchscript(*inputs.values()),
            }
            seconds = median_seconds(runners, args.repeats)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def png_of(shape: list[int]) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (shape[1], shape[2], shape[0]), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if shape[0] == 1 else pixels).save(buffer, "png")
    return buffer.getvalue()


class Phase:
    """What one phase of the load test saw: latencies, errors, the server's memory and CPU time."""

    def __init__(self, pid: int, concurrency: int, maps: bool) -> None:
        self.pid, self.concurrency, self.maps = pid, concurrency, maps
        self.latencies: list[float] = []
        self.errors = 0
        self.memory = [rss_mb(pid)]
        self.started, self.cpu_started = time.perf_counter(), cpu_seconds(pid)

    def record(self, seconds: float, ok: bool, every: int) -> None:
        self.latencies.append(seconds)
        self.errors += not ok
        if len(self.latencies) % every == 0:
            self.memory.append(rss_mb(self.pid))

    def summary(self) -> dict:
        wall, cpu = time.perf_counter() - self.started, cpu_seconds(self.pid) - self.cpu_started
        self.memory.append(rss_mb(self.pid))
        ms = sorted(x * 1000 for x in self.latencies)
        return {"requests": len(ms), "concurrency": self.concurrency, "maps": self.maps,
                "requests_per_s": len(ms) / wall, "errors": self.errors, "p50_ms": ms[len(ms) // 2],
                "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))], "server_cpu_ms": cpu / len(ms) * 1000,
                "rss_mb_start": self.memory[0], "rss_mb_end": self.memory[-1], "rss_mb_max": max(self.memory)}


def one_at_a_time(port: int, image: bytes, requests: int, maps: bool, limit_s: float, pid: int) -> dict:
    """Sequential POST /score over one keep-alive connection of the standard library's client."""
    boundary = "gankit-benchmark-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="maps"\r\n\r\n{str(maps).lower()}\r\n'.encode(),
             f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.png"\r\n'
             f"Content-Type: image/png\r\n\r\n".encode(), image, f"\r\n--{boundary}--\r\n".encode()]
    body, headers = b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(10):  # warm-up: the connection, the batcher's choice of inline calls
        connection.request("POST", "/score", body, headers)
        connection.getresponse().read()
    phase = Phase(pid, 1, maps)
    deadline = time.perf_counter() + limit_s
    for _ in range(requests):
        if time.perf_counter() > deadline:
            break
        start = time.perf_counter()
        connection.request("POST", "/score", body, headers)
        response = connection.getresponse()
        response.read()
        phase.record(time.perf_counter() - start, response.status == 200, max(requests // 20, 1))
    connection.close()
    return phase.summary()


async def concurrent(url: str, image: bytes, requests: int, concurrency: int, limit_s: float, pid: int) -> dict:
    import httpx

    phase = Phase(pid, concurrency, True)
    remaining = iter(range(requests))
    deadline = time.perf_counter() + limit_s

    async def client(http: httpx.AsyncClient) -> None:
        for _ in remaining:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            response = await http.post(url + "score", files=[("files", ("x.png", image, "image/png"))])
            phase.record(time.perf_counter() - start, response.status_code == 200, max(requests // 20, 1))

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return phase.summary()


def load_test(row: dict, work: Path, args: argparse.Namespace) -> dict:
    """The served variant's phases, each against ONNX Runtime's batch-1 time from ``row``."""
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(args.threads)}
    onnx_file = work / f"{row['variant']}.onnx"  # written by measure_variant
    server = subprocess.Popen([sys.executable, "-m", "gankit", "serve", str(onnx_file), "--port", str(port),
                               "--threads", str(args.threads), "--max-queue", "4096"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gankit serve did not start: {server.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        image, single = png_of(row["data_shape"]), args.requests // 4
        phases = [one_at_a_time(port, image, single, True, args.limit_s, server.pid),
                  one_at_a_time(port, image, single, False, args.limit_s, server.pid),
                  asyncio.run(concurrent(url, image, args.requests, args.concurrency, args.limit_s, server.pid))]
    finally:
        server.terminate()
        server.wait(timeout=30)
    inference = row["batch1_ms_per_image"]["onnxruntime"]
    for phase in phases:
        phase["over_inference_ms"] = phase["p50_ms"] - inference
        phase["over_inference_ratio"] = phase["p50_ms"] / inference
    return {"variant": row["variant"], "data_shape": row["data_shape"], "inference_ms": inference, "phases": phases}


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
    if report["services"]:
        lines += ["", "Service: POST /score with one image (pictures: image, reconstruction and heat map as PNGs, as the "
                  "web page asks; none: `maps=false`, scores and decisions only). Over ORT: the p50 less ONNX Runtime's "
                  "own batch-1 time above, and their ratio.", "",
                  "| variant | ORT b=1 ms | pictures | clients | requests | req/s | p50 ms | p99 ms | over ORT ms | "
                  "p50 / ORT | server CPU ms/request | errors | RSS MB start -> end (max) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for service in report["services"]:
            for s in service["phases"]:  # under concurrency the p50 is mostly queueing: no comparison
                over = (f"{s['over_inference_ms']:.2f} | {s['over_inference_ratio']:.2f}x" if s["concurrency"] == 1
                        else "- | -")
                lines.append(f"| {service['variant']} | {service['inference_ms']:.2f} | {'yes' if s['maps'] else 'none'} | "
                             f"{s['concurrency']} | {s['requests']} | {s['requests_per_s']:.1f} | {s['p50_ms']:.2f} | "
                             f"{s['p99_ms']:.1f} | {over} | "
                             f"{s['server_cpu_ms']:.2f} | {s['errors']} | {s['rss_mb_start']:.0f} -> "
                             f"{s['rss_mb_end']:.0f} ({s['rss_mb_max']:.0f}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="threads for all three (default: all cores)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--serve", default=",".join(SERVED), help="detectors (NAME or NAME@SIZE) to serve ('' serves none)")
    parser.add_argument("--requests", type=int, default=2000, help="requests of the concurrent phase (a quarter one at a time)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit-s", type=float, default=120, help="time limit of each phase of the service")
    parser.add_argument("--quick", action="store_true", help="tiny networks, 2 repeats, 3 variants, 40 requests")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "deploy-cpu")
    args = parser.parse_args()
    if args.quick:
        args.variants, args.serve, args.repeats, args.batch = "gan,ganomaly,ganomaly@32", "ganomaly,ganomaly@32", 2, 8
        args.requests, args.concurrency = 40, 4
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = {
        "command": " ".join(["python", "benchmarks/deploy.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, cpu {platform.processor() or 'unknown'}",
        "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "gankit": gankit.__version__,
        "threads": args.threads, "batch": args.batch, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "peak_fp32": matmul_peak(torch.float32, 512 if args.quick else 2048, 10), "variants": [], "services": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for spec in args.variants.split(","):
            report["variants"].append(measure_variant(spec, work, args))
        for spec in filter(None, args.serve.split(",")):
            row = next((r for r in report["variants"] if r["variant"] == spec), None) or measure_variant(spec, work, args)
            report["services"].append(load_test(row, work, args))
            print(json.dumps(report["services"][-1]), flush=True)
    report["wall_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
