"""Scoring a test set with a trained anomaly detector: a CSV of per-image scores and
decisions, image and pixel metrics when labels and masks are known, and heat-map
overlays. ``gankit.score`` (and ``gankit score``) loads a run and calls ``score_model``.

The threshold is the run's own (a quantile of held-out normal scores, stored at
the end of training) unless overridden, so the test set is scored once and
nothing about it feeds back into any choice.

    result = score_model(gankit.load("runs/ganomaly-mnist"), out="scores.csv", maps="maps/")
    result.metrics["auroc"], result.metrics["pixel_auroc"]
    score_model(model, data="magnetic-tile:../shared/data/magnetic-tile", quantile=0.95)
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from gankit.capabilities import AnomalyScorer
from gankit.config import DataConfig
from gankit.data.anomaly import load_anomaly
from gankit.data.specs import resolve_spec
from gankit.errors import GankitError, note
from gankit.files import write_text
from gankit.metrics.anomaly import image_metrics, pixel_metrics
from gankit.models import MODELS
from gankit.models.base import GANModel
from gankit.report.anomaly import inferno, save_ranked
from gankit.report.overlay import save_overlays
from gankit.rundir import RunDirectory

DEFAULT_THRESHOLD = 0.5  # normalised units: the run's threshold_quantile of normal scores
RANKED_SHOWN = 8
# A quantile threshold rests on the held-out normal scores above it; with fewer than this many
# expected there, it is little more than the largest normal score and its false-positive rate
# is a guess (100 images at 0.99: one score above, so recall collapses).
MIN_SCORES_ABOVE = 5


@dataclass
class ScoreResult:
    rows: list[dict[str, Any]]  # one per image: index, name, kind, label, score, normalized, decision
    metrics: dict[str, float] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD  # normalised
    files: dict[str, Path] = field(default_factory=dict)
    threshold_note: str = ""  # what false-positive rate the threshold was set for, on how many images


def score_model(
    model: GANModel,
    *,
    data: str | None = None,
    normal_classes: list[int] | None = None,
    anomaly_classes: list[int] | None = None,
    out: str | Path | None = None,
    maps: str | Path | None = None,
    threshold: float | None = None,
    quantile: float | None = None,
    batch_size: int | None = None,
    run_dir: Path | None = None,
) -> ScoreResult:
    """Score the test part of the model's run protocol (or of ``data``, a spec brought to the
    model's image size); a model built by hand, with no run, needs ``data``. With ``run_dir``
    the results are also recorded in the run and its report rewritten."""
    if not isinstance(model, AnomalyScorer):
        detectors = ", ".join(name for name, cls in MODELS.items() if issubclass(cls, AnomalyScorer))
        raise GankitError(f"{model.name} models do not score anomalies; use one of {detectors}")
    if threshold is not None and quantile is not None:
        raise GankitError("give either a threshold (normalised, 0..1) or a quantile of normal scores, not both")
    if threshold is not None and not 0 < threshold < 1:
        raise GankitError(f"the threshold is in normalised units and must be in (0, 1), got {threshold}")
    if model.run_config is None and data is None:
        raise GankitError("this model comes from no run, so it has no test protocol: give the test data (data=SPEC)")
    config = model.run_config.data if model.run_config is not None else DataConfig()
    # Any test data is brought to the channels the networks take, and to their size unless the
    # model was trained on patches: then to the run's image size, and scored by tiles.
    patched = config.patch_size is not None
    changes: dict[str, Any] = {"split": "test", "channels": model.data_shape[0]}
    if not patched:
        changes["image_size"] = model.data_shape[-1]
    if data is not None:
        changes["spec"] = data
    if normal_classes is not None or anomaly_classes is not None:
        changes.update(normal_classes=normal_classes, anomaly_classes=anomaly_classes)
    spec = resolve_spec(replace(config, **changes))
    if (normal_classes is not None or anomaly_classes is not None) and not spec.owns("anomaly_classes"):
        raise GankitError(f"class lists (--normal-classes, --anomaly-classes) do not apply to {spec.text}, which "
                          f"{spec.ABOUT}; they apply to labelled sets such as mnist")
    test = load_anomaly(spec, "test")
    if not patched and tuple(test.data.shape) != tuple(model.data_shape):
        raise GankitError(f"{test.data.name} gives images of shape {test.data.shape}, the model takes {model.data_shape}")

    output = model.score_dataset(test.data.x, batch_size)
    calibrated = model.calibrated
    normalized = model.normalize(output.scores) if calibrated else None
    if threshold is None and (calibrated or quantile is not None):  # a quantile of no calibration: an error
        quantile = model.config.threshold_quantile if quantile is None else quantile
        threshold = model.normalize(torch.tensor([model.raw_threshold(quantile)])).item()
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    decisions = None if normalized is None else normalized >= threshold
    calibration = _calibration_summary(model, threshold, quantile) if calibrated else {}

    rows = []
    for i in range(len(test)):
        rows.append({
            "index": i,
            "name": test.names[i],
            "kind": test.kinds[i],
            "label": "" if test.is_anomaly is None else int(test.is_anomaly[i]),
            "score": output.scores[i].item(),
            "normalized": "" if normalized is None else round(normalized[i].item(), 6),
            "decision": "" if decisions is None else int(decisions[i]),
        })
    metrics: dict[str, float] = {"num_images": len(test)}
    kinds: list[str] = []
    if test.is_anomaly is not None and 0 < int(test.is_anomaly.sum()) < len(test):
        labels = test.is_anomaly
        metrics["num_anomalous"] = int(labels.sum())
        metrics.update(image_metrics(output.scores, labels))
        if decisions is not None:
            tp = int((decisions & labels).sum())
            metrics["threshold"] = threshold
            metrics["precision_at_threshold"] = tp / max(int(decisions.sum()), 1)
            metrics["recall_at_threshold"] = tp / int(labels.sum())
            metrics["f1_at_threshold"] = 2 * tp / (int(decisions.sum()) + int(labels.sum()))
        kinds = sorted({k for k, a in zip(test.kinds, labels.tolist()) if a})
        if len(kinds) > 1:
            normal = ~labels
            for kind in kinds:
                chosen = normal | torch.tensor([k == kind for k in test.kinds])
                metrics[f"auroc[{kind}]"] = image_metrics(output.scores[chosen], labels[chosen])["auroc"]
    if test.masks is not None:
        metrics.update(pixel_metrics(output.maps, test.masks))
        if len(kinds) > 1:
            for kind in kinds:
                chosen = ~test.is_anomaly | torch.tensor([k == kind for k in test.kinds])
                if test.masks[chosen].any():
                    metrics[f"pixel_auroc[{kind}]"] = pixel_metrics(output.maps[chosen], test.masks[chosen])["pixel_auroc"]

    metrics.update({k: v for k, v in calibration.items() if k != "note"})
    result = ScoreResult(rows, metrics, threshold, threshold_note=calibration.get("note", ""))
    if out is not None:
        result.files.update(_write(Path(out), rows, metrics, test, output))
    if run_dir is not None:
        result.files.update(_record_in_run(Path(run_dir), model, result, test, output))
    if maps is not None:
        vmax = output.maps.quantile(0.999).item() if output.maps.numel() < 2**24 else output.maps.max().item()
        save_overlays(test.data.x, output.reconstructions, output.maps, test.names, Path(maps), vmax, inferno)
        result.files["maps"] = Path(maps)
    return result


def _write(out: Path, rows: list[dict[str, Any]], metrics: dict[str, float], test: Any, output: Any) -> dict[str, Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    files = {"csv": write_text(out, table.getvalue()), "metrics": out.with_suffix(".json")}
    write_text(files["metrics"], json.dumps(metrics, indent=2) + "\n")
    for path in _save_ranked(test, output, lambda which: out.with_name(f"{out.stem}-{which}-anomalous.png")):
        files[path.stem] = path
    return files


def _save_ranked(test: Any, output: Any, path_of: Callable[[str], Path]) -> list[Path]:
    """The RANKED_SHOWN most and least anomalous images (image | reconstruction | map), one colour scale."""

    vmax = output.maps.max().item()
    k = min(RANKED_SHOWN, len(test))
    return [
        save_ranked(test.data.x, output.reconstructions, output.maps, output.scores, path_of(which), k, which == "most", vmax)
        for which in ("most", "least")
    ]


def _calibration_summary(model: Any, threshold: float, quantile: float | None) -> dict[str, Any]:
    """How many held-out normal images back the threshold and what false-positive rate it was set
    for (``quantile``; None when the threshold was given); warns when too few back the quantile."""
    normal = model.normalize(model.calibration_scores)  # [M] held-out normal scores, normalised
    n = normal.numel()
    flagged = int((normal >= threshold).sum())
    summary: dict[str, Any] = {"calibration_images": n, "calibration_false_positive_rate": flagged / n}
    seen = f"{flagged} of {n} held-out normal images ({flagged / n:.1%}) lie at or above it"
    if quantile is None:
        summary["note"] = f"threshold {threshold:.4g} (normalised, given): {seen}"
        return summary
    summary["threshold_quantile"] = quantile
    summary["note"] = (f"threshold {threshold:.4g} (normalised) = the {quantile:g} quantile of {n} held-out normal "
                       f"scores, set for a {1 - quantile:.2%} false-positive rate: {seen}")
    if n * (1 - quantile) < MIN_SCORES_ABOVE:
        steadier = math.floor((1 - MIN_SCORES_ABOVE / n) * 100) / 100 if n > 2 * MIN_SCORES_ABOVE else None
        advice = f"--quantile {steadier:g} rests on {MIN_SCORES_ABOVE} of them" if steadier else "more normal images are needed"
        note(
            f"only {n} held-out normal images back the {quantile:g} quantile (about {n * (1 - quantile):.1f} lie above "
            f"it), so the threshold is about the largest normal score and its false-positive rate is uncertain; "
            f"{advice}"
        )
    return summary


def _record_in_run(run_dir: Path, model: Any, result: ScoreResult, test: Any, output: Any) -> dict[str, Path]:
    """Keep what the run's report shows of this scoring (metrics, raw scores and labels for the
    curves and histograms, the ranked overlays) in the run directory, and rewrite the report."""
    from gankit.report.html import write_report

    try:
        _save_ranked(test, output, RunDirectory(run_dir).test_ranked)
        record = {
            "data": test.data.name,
            "metrics": result.metrics,
            "threshold_note": result.threshold_note,
            "raw_threshold": model.raw_threshold(result.metrics["threshold_quantile"])
            if "threshold_quantile" in result.metrics else None,
            "scores": output.scores.tolist(),
            "labels": None if test.is_anomaly is None else test.is_anomaly.int().tolist(),
        }
        write_text(RunDirectory(run_dir).test_scores, json.dumps(record, indent=1) + "\n")
        return {"report": write_report(run_dir)}
    except OSError as error:
        note(f"could not record the scores in {run_dir} ({error.strerror}); its report is unchanged")
        return {}
