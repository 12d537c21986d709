"""``gankit serve``: an exported file (or a run, exported first) over HTTP with a web page (docs/deploy.md)."""

from __future__ import annotations

import argparse

from gankit.commands import Verb

EXAMPLES = """examples:
  gankit serve detector.onnx                  # http://127.0.0.1:8000/ : the page; POST /score, GET /model
  gankit serve runs/style --port 8080         # a run is exported to ONNX first (a temporary folder)
  gankit serve facades-a2b.onnx --max-upload-mb 4 --max-batch 32
  gankit serve detector.onnx --threads 1      # one inference thread (small models, a shared machine)"""


def arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("model", metavar="RUN_OR_EXPORT", help="a run directory or an exported .onnx file")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--max-upload-mb", type=float, default=8.0, help="largest request body (default 8 MiB)")
    serve.add_argument("--max-batch", type=int, default=16, help="images per batched inference call (default 16)")
    serve.add_argument("--max-queue", type=int, default=256, help="images waiting before requests get 503 (default 256)")
    serve.add_argument("--threads", type=int, help="ONNX Runtime threads per call (default: one per physical core, "
                                                   "or per core the process is pinned to)")


def run(args: argparse.Namespace) -> int:
    from gankit.serve import serve

    serve(args.model, host=args.host, port=args.port, max_upload_mb=args.max_upload_mb,
          max_batch=args.max_batch, max_queue=args.max_queue, threads=args.threads)
    return 0


VERB = Verb("serve", "Serve an exported file (or a run, exported first) over HTTP with a web page (docs/deploy.md).",
            EXAMPLES, arguments, run)
