"""Export a trained run's job to ONNX or TorchScript, with a JSON sidecar that documents the
input contract, the calibration and the checkpoint it came from (``gankit export``).

Every file takes any batch size. Writes are all-or-nothing: every check runs before a
byte is written, and each file appears under its final name only once complete.

    paths = export_run("runs/ganomaly-digits", "onnx", "detector.onnx")   # [detector.onnx]
    sidecar = json.loads(Path("detector.onnx.json").read_text())          # contract, threshold, sha256
    export_run("runs/facades", "onnx", "facades.onnx")   # facades-a2b.onnx and facades-b2a.onnx
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from gankit.deploy import sidecar_path
from gankit.errors import GankitError
from gankit.export.jobs import Job, jobs_for
from gankit.files import atomic_write, file_sha256, write_text
from gankit.outputs import output_file

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": {".onnx"}, "torchscript": {".pt", ".ts"}}  # what --out may end in, per format
SIDECAR_FORMAT = "gankit-export/1"
OPSET = 18


def export_run(run: str | Path, fmt: str, out: str | Path, *, checkpoint: str | Path | None = None,
               threshold: float = 0.5) -> list[Path]:
    """Export ``run``'s job(s) as ``fmt`` to ``out`` (CycleGAN: one file per direction, the direction
    added to the stem); returns the files written, each beside its ``.json`` sidecar."""
    from gankit import __version__, api

    if fmt not in FORMATS:
        raise GankitError(f"unsupported export format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not 0 < threshold < 1:
        raise GankitError(f"the threshold is in normalised units and must be in (0, 1), got {threshold}")
    checkpoint = api.resolve_checkpoint(run, checkpoint)
    out = output_file(out, SUFFIXES[fmt])
    model = api.load(run, checkpoint=checkpoint, device="cpu")
    jobs = jobs_for(model, threshold)
    facts = {
        "format": SIDECAR_FORMAT, "model": model.run_config.model_name, "gankit_version": __version__,
        "torch_version": torch.__version__, "file_format": fmt, "data": model.run_config.data.spec,
        "data_shape": list(model.data_shape), "step": model.step,
        "checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint),
    }
    targets = [out.with_name(out.stem + job.suffix + out.suffix) for job in jobs]
    out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for job, target in zip(jobs, targets):
            _write_atomically(target, lambda path, job=job: WRITERS[fmt](job, path))
            sidecar = {**facts, "job": job.name, **job.extra, **job.contract, "file_sha256": file_sha256(target)}
            write_text(sidecar_path(target), json.dumps(sidecar, indent=2) + "\n")
            written.append(target)
    except Exception:
        for path in written:  # all or nothing: a half-exported CycleGAN is removed
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
        raise
    return written


def _write_atomically(target: Path, write: Any) -> None:
    """The exporters write to a path, so they write into a scratch folder beside ``target``; the
    result then goes through the one atomic writer of run files (fsync, rename, one-line errors)."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as scratch:
        staged = Path(scratch) / target.name
        write(staged)
        with open(staged, "rb") as source:
            atomic_write(target, lambda file: shutil.copyfileobj(source, file))


def write_onnx(job: Job, path: Path) -> None:
    batch = torch.export.Dim("batch", min=1)
    dynamic = {name: ({0: batch} if name != "psi" else None) for name in job.inputs}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's progress chatter and deprecation notes
        program = torch.onnx.export(
            job.module.eval(), tuple(job.inputs.values()), input_names=list(job.inputs), output_names=job.outputs,
            dynamo=True, dynamic_shapes=dynamic, opset_version=OPSET, external_data=False, verbose=False,
            # onnxscript's graph rewrites moved StyleGAN's AdaIN by 2e-3 (ill-conditioned instance norm of
            # near-constant maps); the unrewritten graph stays within 1e-4 and ONNX Runtime fuses it anyway.
            optimize=False,
        )
    program.save(str(path))


def write_torchscript(job: Job, path: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        traced = torch.jit.trace(job.module.eval(), tuple(job.inputs.values()), check_trace=False)
    traced.save(str(path))


WRITERS = {"onnx": write_onnx, "torchscript": write_torchscript}
