"""``gankit serve``: a run or an exported file behind HTTP, with a web page (see ``serve.app``).

A run directory is exported to ONNX first, into a temporary folder removed on exit, so the
service always runs what ``gankit export`` writes. It binds 127.0.0.1 unless told otherwise.

    serve("detector.onnx")                          # http://127.0.0.1:8000/
    serve("runs/facades", host="0.0.0.0", port=8080)   # both CycleGAN directions
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gankit.errors import GankitError


@contextmanager
def served_files(target: str | Path) -> Iterator[list[Path]]:
    """The ONNX files to serve: ``target`` itself, or a run's job(s) exported to a temporary folder."""
    target = Path(target)
    if target.is_file():
        yield [target]
        return
    if not target.is_dir():
        raise GankitError(f"not a run directory or an exported file: {target}")
    from gankit.export import export_run

    with tempfile.TemporaryDirectory(prefix="gankit-serve-") as folder:
        print(f"exporting {target} to ONNX ...")
        yield export_run(target, "onnx", Path(folder) / "model.onnx")


def serve(target: str | Path, *, host: str = "127.0.0.1", port: int = 8000, max_upload_mb: float = 8.0,
          max_batch: int = 16, max_queue: int = 256, threads: int | None = None) -> None:
    import uvicorn

    from gankit.serve.app import Limits, create_app

    if max_upload_mb <= 0 or max_batch <= 0 or max_queue <= 0 or (threads is not None and threads <= 0):
        raise GankitError("--max-upload-mb, --max-batch, --max-queue and --threads must be > 0")
    if not 0 < port < 65536:
        raise GankitError(f"--port must be in 1..65535, got {port}")
    limits = Limits(max_upload_bytes=int(max_upload_mb * (1 << 20)), max_batch=max_batch, max_queue=max_queue)
    with served_files(target) as paths:
        app = create_app(paths, limits, threads=threads)
        print(f"serving {', '.join(p.name for p in paths)} on http://{host}:{port}/ (Ctrl-C stops)")
        uvicorn.run(app, host=host, port=port, log_level="warning")
