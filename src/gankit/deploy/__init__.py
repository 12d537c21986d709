"""Run files written by ``gankit export`` with ONNX Runtime: score, sample or translate without the
training stack (no training loop, matplotlib or torchmetrics is imported). The sidecar beside the
file says what it computes; images are read with the same decoder as training data.

    model = gankit.deploy.load("detector.onnx")
    out = model.score(x)                   # x [N, C, H, W] in [-1, 1] -> raw_score, score, decision, map, ...
    score_folder(model, "photos/", "scores.csv", maps="maps/")   # the columns of `gankit score`
    images = gankit.deploy.load("style.onnx").sample(16, seed=3, psi=0.7)   # [16, C, H, W]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import GankitError

JOBS = ("score", "sample", "translate")


def sidecar_path(path: str | Path) -> Path:
    """model.onnx -> model.onnx.json (the full name, so an ONNX and a TorchScript file never share one)."""
    return Path(f"{path}.json")


class Exported:
    """One exported file in an ONNX Runtime session, with its sidecar's facts (``info``)."""

    def __init__(self, path: Path, info: dict[str, Any], session: Any) -> None:
        self.path, self.info, self.session = path, info, session
        self.job: str = info["job"]
        self.data_shape = tuple(info["data_shape"])  # [C, H, W] of every image in and out

    @property
    def latent_dim(self) -> int:
        return int(self.info["inputs"]["z"]["shape"][1])

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, inputs)))

    def _require(self, job: str) -> None:
        if self.job != job:
            raise GankitError(f"{self.path.name} is a {self.info['model']} '{self.job}' file; it cannot {job}")

    def images(self, x: Any, where: str) -> np.ndarray:
        """x as the file's input: float32 [N, C, H, W] in [-1, 1], or a one-line GankitError."""
        from gankit.data.images import model_images

        return model_images(x, self.data_shape[0], self.data_shape[-1], where).numpy()

    def score(self, x: Any) -> dict[str, np.ndarray]:
        """raw_score [N], score [N] (normalised), decision [N], map [N, 1, H, W], reconstruction [N, C, H, W]."""
        self._require("score")
        return self.run({"x": self.images(x, "score")})

    def translate(self, x: Any) -> np.ndarray:
        """Images of the file's source domain [N, C, H, W] -> its target domain (``info["direction"]``)."""
        self._require("translate")
        return self.run({"x": self.images(x, "translate")})["image"]

    def latents(self, n: int, seed: int) -> np.ndarray:
        """z [n, latent] drawn as ``gankit sample --seed`` draws them, so a seed gives the same images."""
        import torch

        return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed)).numpy()

    def sample(self, n: int, seed: int = 0, psi: float = 1.0) -> np.ndarray:
        """n images [n, C, H, W] in [-1, 1]; ``psi`` is the truncation of files that take one (StyleGAN)."""
        self._require("sample")
        if n <= 0:
            raise GankitError(f"n must be > 0, got {n}")
        inputs = {"z": self.latents(n, seed)}
        if "psi" in self.info["inputs"]:
            if not np.isfinite(psi):
                raise GankitError(f"psi must be a finite number, got {psi}")
            inputs["psi"] = np.array([psi], dtype=np.float32)
        elif psi != 1.0:
            raise GankitError(f"{self.info['model']} files take no truncation psi")
        return self.run(inputs)["image"]


def allowed_cores() -> int | None:
    """The cores this process may run on, when that is fewer than the machine has (``taskset``, a
    container's cpuset); None otherwise."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return allowed if allowed and allowed < (os.cpu_count() or allowed) else None


def load(path: str | Path, *, threads: int | None = None) -> Exported:
    """An exported ONNX file and its sidecar (``path``.json) in an ONNX Runtime CPU session with
    ``threads`` threads per call. The default is ONNX Runtime's (one per physical core of the
    machine) unless the process is pinned to fewer cores, then one per allowed core: a process
    pinned to one core would otherwise run a second thread that spins on that same core, which
    doubled the CPU time of a small detector's call and, behind ``gankit serve``, took the core
    from the event loop (docs/deploy.md, Speed)."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise GankitError(f"exported file not found: {path}")
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        raise GankitError(f"{path} has no sidecar {sidecar.name}: export it with 'gankit export'")
    try:
        info = json.loads(sidecar.read_text())
    except (OSError, ValueError) as error:
        raise GankitError(f"cannot read {sidecar} ({error})") from None
    if info.get("file_format") != "onnx" or info.get("job") not in JOBS:
        raise GankitError(f"{path} is not an ONNX file of gankit export (its sidecar says "
                          f"{info.get('file_format')!r}, job {info.get('job')!r})")
    options = onnxruntime.SessionOptions()
    threads = threads or allowed_cores()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types for unreadable models
        raise GankitError(f"ONNX Runtime cannot load {path}: {str(error).splitlines()[0]}") from None
    return Exported(path, info, session)


from gankit.deploy.files import sample_files, score_folder, translate_folder  # noqa: E402

__all__ = ["Exported", "load", "sample_files", "score_folder", "sidecar_path", "translate_folder"]
