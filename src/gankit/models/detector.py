"""What the anomaly detectors (AnoGAN, EGBAD, GANomaly, f-AnoGAN, ALAD) share: the
:class:`AnomalyOutput` of ``anomaly_score``, calibration on held-out normal data
at the end of training, and score normalisation.

Calibration scores the protocol's held-out normal images (never test images)
and stores their sorted raw scores in the model's state, so the checkpoint,
``gankit.load`` and ``gankit score`` all use the same statistics. A raw score
s becomes ``sigmoid((s - t) / sigma)`` in (0, 1), with t the
``threshold_quantile`` quantile and sigma the standard deviation of the
normal scores: the default decision threshold is 0.5 in every run, and the
map is monotone, so rankings (AUROC) are those of the raw scores.

    out = model.anomaly_score(x)                  # AnomalyOutput: scores [N], maps [N, 1, H, W]
    normalized = model.normalize(out.scores)      # [N] in (0, 1); >= 0.5 is anomalous by default
    model.calibrate(x_heldout_normal)             # what the training loop does at its end
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gankit.capabilities import AnomalyOutput, AnomalyScorer, FinishesTraining, Reconstructor, TrainEndContext
from gankit.config import NON_NEGATIVE, OPEN_FRACTION, POSITIVE, Range, Settings, setting
from gankit.data.images import model_images
from gankit.detection import ImageScore, Tiler, final_scores, normalized
from gankit.errors import GankitError, note
from gankit.files import write_text
from gankit.models.base import GANModel
from gankit.rundir import RunDirectory


@dataclass
class DetectorConfig(Settings):
    """Settings every detector has, mixed into each one's config (in any order of the bases)."""

    # Stride of the scoring tiles over images larger than the networks' input; None: half a tile.
    tile_stride: int | None = setting(None, POSITIVE)
    # The image score: "detector", the detector's own score (of the image, or the largest of its
    # tiles); "map_max", the largest pixel of the stitched map; "map_top_k", the mean of its
    # top_k largest fraction of pixels.
    image_score: ImageScore = "detector"
    top_k: float = setting(0.01, Range(0, 1, low_inclusive=False))
    # Sigma in px of the Gaussian that smooths the full-size map (stitched, or the whole image's)
    # before the image score is taken from it; 0: no smoothing. Residuals of textured surfaces are
    # dominated by pixel-sized texture, defects are several px wide (anomalib smooths with 4).
    map_sigma: float = setting(0.0, NON_NEGATIVE)
    threshold_quantile: float = setting(0.99, OPEN_FRACTION)  # default threshold: this quantile of held-out normal scores
    score_batch_size: int = setting(256, POSITIVE)  # images per anomaly_score call when scoring a data set
    # Held-out normal images scored at the end of training (a fixed random subset when there
    # are more): bounds AnoGAN's calibration cost, whose every image needs a latent search.
    max_calibration_images: int = setting(2000, POSITIVE)


def residual_map(x: Tensor, x_hat: Tensor) -> Tensor:
    """|x - x_hat| averaged over channels: [N, 1, H, W]."""
    return (x - x_hat).abs().mean(1, keepdim=True)


class AnomalyDetector(GANModel, AnomalyScorer, FinishesTraining):
    """Base class of the detectors: it checks that the data are images, holds the calibration,
    keeps the first training images for previews and calibrates when training ends. A detector
    subclasses it (before any other variant it builds on) and defines ``anomaly_score``."""

    def __init__(self, config: Any, data_shape: tuple[int, ...]) -> None:
        if len(data_shape) != 3:
            raise GankitError(f"{type(self).__name__} detects anomalies in images, but the data has shape {data_shape}")
        super().__init__(config, data_shape)
        # Sorted raw scores of held-out normal images; empty until calibrated.
        self.register_buffer("calibration_scores", torch.zeros(0))
        self.register_load_state_dict_pre_hook(_take_calibration_size)
        self._preview_x: Tensor | None = None

    @contextmanager
    def scoring(self) -> Iterator[None]:
        """Eval mode (batch-norm running statistics, no dropout) and no parameter gradients."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    def observe_batch(self, batch: tuple[Tensor, ...]) -> None:
        """Keep the first training images for the preview grid (reconstructions beside them)."""
        if self._preview_x is None:
            self._preview_x = batch[0][:8].detach().clone()

    def preview(self, n: int, generator: torch.Generator) -> Tensor:
        """Image / reconstruction pairs when the model reconstructs cheaply, else samples."""
        if self._preview_x is None or not isinstance(self, Reconstructor):
            return self.sample(n, generator=generator)
        x = self._preview_x[: max(1, n // 2)]
        with self.scoring():
            x_hat = self.reconstruct(x)
        return torch.stack([x, x_hat], 1).flatten(0, 1)  # [2K, C, H, W]: x, x_hat, x, x_hat, ...

    def preview_layout(self, count: int) -> dict[str, Any]:
        if self._preview_x is None or not isinstance(self, Reconstructor):
            return {}
        pairs = max(1, min(4, count // 2))  # input | reconstruction pairs per row
        return {"nrow": 2 * pairs, "cols": ["input", "recon."] * pairs}

    # --- scoring a whole set -----------------------------------------------------------------------
    def score_dataset(self, x: Tensor, batch_size: int | None = None) -> AnomalyOutput:
        """anomaly_score over ``x`` [N, C, H, W] (any device, or a numpy array) in batches; results on the CPU.
        Images larger than the networks' input are scored by overlapping tiles (``gankit.detection``);
        the maps are smoothed by ``config.map_sigma`` and the image score is ``config.image_score``."""
        x = model_images(x, self.data_shape[0], None, "score_dataset")
        batch_size = batch_size or self.config.score_batch_size
        if x.shape[-2:] == self.data_shape[-2:]:
            output = AnomalyOutput.cat([
                self.anomaly_score(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, x.shape[0], batch_size)
            ])
        else:
            tiler = Tiler(self.data_shape[-1], self.config.tile_stride)
            output = AnomalyOutput(*tiler.score(self.anomaly_score, x.cpu(), batch_size, self.device))
        config = self.config
        output.scores, output.maps = final_scores(output.scores, output.maps, config.image_score, config.top_k, config.map_sigma)
        return output

    # --- calibration and normalisation ---------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        return self.calibration_scores.numel() > 0

    def calibrate(self, x_normal: Tensor) -> dict[str, float]:
        """Store the raw scores of held-out normal images [N, C, H, W]; returns their statistics."""
        scores = self.score_dataset(x_normal).scores
        self.calibration_scores = scores.sort().values.to(self.calibration_scores.device)
        return self.calibration_stats()

    def _require_calibration(self) -> Tensor:
        if not self.calibrated:
            raise GankitError("this model has no calibration (train it on an anomaly-detection protocol)")
        return self.calibration_scores.cpu()

    def raw_threshold(self, quantile: float | None = None) -> float:
        quantile = self.config.threshold_quantile if quantile is None else quantile
        if not 0 < quantile < 1:
            raise GankitError(f"the threshold quantile must be in (0, 1), got {quantile}")
        return torch.quantile(self._require_calibration(), quantile).item()

    def normalization(self) -> tuple[float, float]:
        """(raw threshold t, scale sigma) of ``normalize``: what an exported detector embeds."""
        normal = self._require_calibration()
        return self.raw_threshold(), max(normal.std().item() if normal.numel() > 1 else 0.0, 1e-12)

    def normalize(self, scores: Tensor) -> Tensor:
        """Raw scores [N] -> (0, 1); the default threshold maps to 0.5."""
        return normalized(scores.cpu(), *self.normalization())

    def calibration_stats(self) -> dict[str, float]:
        normal = self._require_calibration()
        return {
            "num_images": normal.numel(),
            "mean": normal.mean().item(),
            "std": normal.std().item() if normal.numel() > 1 else 0.0,
            "min": normal[0].item(),
            "median": normal.median().item(),
            "max": normal[-1].item(),
            "threshold_quantile": self.config.threshold_quantile,
            "raw_threshold": self.raw_threshold(),
            "normalized_threshold": 0.5,
        }

    def on_train_end(self, context: TrainEndContext) -> None:
        """Calibrate on the protocol's held-out normal images and write RUN/normalization.json."""
        from gankit.data.anomaly import load_anomaly
        from gankit.data.kinds import ProtocolSpec
        from gankit.data.specs import resolve_spec

        spec = resolve_spec(context.config.data)
        if not isinstance(spec, ProtocolSpec):
            note(
                f"{context.config.data.spec} is no anomaly-detection protocol, so no held-out normal images "
                "exist: scores stay uncalibrated (set data.normal_classes / data.anomaly_classes, or use "
                "defects:DIR or magnetic-tile:DIR)"
            )
            return
        held_out = load_anomaly(spec, "calibration")
        x = held_out.data.x  # [N, C, H, W]
        if x.shape[0] > self.config.max_calibration_images:
            chosen = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
            x = x[chosen[: self.config.max_calibration_images]]
        stats = self.calibrate(x)
        payload = {"source": f"{held_out.data.name} (calibration part)", **stats, "scores": self.calibration_scores.tolist()}
        write_text(RunDirectory(context.run_dir).normalization, json.dumps(payload, indent=2) + "\n")


def _take_calibration_size(module: AnomalyDetector, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    # The calibration set's size is known only after training: take the stored shape.
    key = prefix + "calibration_scores"
    if key in state_dict:
        module.calibration_scores = torch.empty_like(state_dict[key])
