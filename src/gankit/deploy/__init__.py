"""Run files written by ``gankit export`` with ONNX Runtime: score, sample or translate without the
training stack (no training loop, matplotlib or torchmetrics is imported). The sidecar beside the
file says what it computes; images are read with the same decoder as training data. A detector
trained on patches scores whole images as ``gankit score`` does, through the same code
(``gankit.detection``): overlapping tiles through the file, stitched maps, the run's image score
and calibration.

    model = gankit.deploy.load("detector.onnx")
    out = model.score(x)                   # x [N, C, S, S] in [-1, 1] -> raw_score, score, decision, map, ...
    score_folder(model, "photos/", "scores.csv", maps="maps/")   # the columns of `gankit score`
    images = gankit.deploy.load("style.onnx").sample(16, seed=3, psi=0.7)   # [16, C, H, W]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from gankit.capabilities import AnomalyOutput
from gankit.detection import Tiler, decide
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
        self.data_shape = tuple(info["data_shape"])  # [C, H, W] of the file's input (a tile of a tiled detector)
        # What callers hand in: images at the run's scoring size (a detector's sidecar says it), cut
        # into tiles of data_shape when the sidecar gives a tile stride, as model.score_dataset cuts them.
        scoring = info.get("scoring") or {}
        stride = scoring.get("tile_stride")
        self.tiler = None if stride is None else Tiler(self.data_shape[-1], stride)
        self.image_shape = self.data_shape if stride is None else (self.data_shape[0], scoring["image_size"], scoring["image_size"])

    @property
    def latent_dim(self) -> int:
        return int(self.info["inputs"]["z"]["shape"][1])

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, inputs)))

    def _require(self, job: str) -> None:
        if self.job != job:
            raise GankitError(f"{self.path.name} is a {self.info['model']} '{self.job}' file; it cannot {job}")

    def decode(self, source: Path | BinaryIO, max_pixels: int | None = None) -> torch.Tensor:
        """An image file (or stream) as uint8 [C, S, S] (``image_shape``), brought to size as the run's
        test images are: the whole image resized for a detector of a defect-folder protocol (sidecar
        ``scoring.resize``), else the shorter side resized and the centre cropped."""
        from gankit.data.images import decode_file, decode_whole

        whole = self.info.get("scoring", {}).get("resize") == "whole"
        return (decode_whole if whole else decode_file)(source, self.image_shape[0], self.image_shape[-1], max_pixels)

    def images(self, x: Any, where: str) -> np.ndarray:
        """x as the caller's images: float32 [N, C, S, S] in [-1, 1] (``image_shape``), or a one-line GankitError."""
        from gankit.data.images import model_images

        return model_images(x, self.image_shape[0], self.image_shape[-1], where).numpy()

    def score(self, x: Any) -> dict[str, np.ndarray]:
        """raw_score [N], score [N] (normalised), decision [N], map [N, 1, S, S], reconstruction [N, C, S, S]
        of images x [N, C, S, S] (``image_shape``): what ``gankit score`` gives for them."""
        self._require("score")
        x = self.images(x, "score")
        return self.run({"x": x}) if self.tiler is None else self._score_by_tiles(torch.from_numpy(x))

    def _score_by_tiles(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        """``model.score_dataset``'s tiled path with the file as the detector, then its image score and
        the calibration, all from ``gankit.detection``."""
        scoring, calibration = self.info["scoring"], self.info["calibration"]

        def score_tiles(tiles: torch.Tensor) -> AnomalyOutput:
            out = self.run({"x": tiles.numpy()})
            return AnomalyOutput(*(torch.from_numpy(out[name]) for name in ("tile_score", "map", "reconstruction")))

        tile_scores, maps, reconstructions = self.tiler.score(score_tiles, x, scoring["tile_batch"])
        raw, score, decision, maps = decide(tile_scores, maps, scoring["image_score"], scoring["top_k"], scoring["map_sigma"],
                                            calibration["raw_threshold"], calibration["scale"], calibration["threshold"])
        return {"raw_score": raw.numpy(), "score": score.numpy(), "decision": decision.numpy(),
                "map": maps.numpy(), "reconstruction": reconstructions.numpy()}

    def translate(self, x: Any) -> np.ndarray:
        """Images of the file's source domain [N, C, H, W] -> its target domain (``info["direction"]``)."""
        self._require("translate")
        return self.run({"x": self.images(x, "translate")})["image"]

    def latents(self, n: int, seed: int) -> np.ndarray:
        """z [n, latent] drawn as ``gankit sample --seed`` draws them, so a seed gives the same images."""
        return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed)).numpy()

    def sample(self, n: int, seed: int = 0, psi: float = 1.0) -> np.ndarray:
        """n images [n, C, H, W] in [-1, 1]; ``psi`` is the truncation: a graph input of files that
        take one (StyleGAN, in w), else z scaled by psi here, as ``gankit sample --truncation`` does."""
        self._require("sample")
        if n <= 0:
            raise GankitError(f"n must be > 0, got {n}")
        if not np.isfinite(psi):
            raise GankitError(f"psi must be a finite number, got {psi}")
        inputs = {"z": self.latents(n, seed)}
        if "psi" in self.info["inputs"]:
            inputs["psi"] = np.array([psi], dtype=np.float32)
        elif psi != 1.0:
            inputs["z"] = inputs["z"] * np.float32(psi)
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
