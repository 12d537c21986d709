"""The run report: one self-contained ``RUN/report.html`` (images inlined as base64,
no scripts, no external files) that a person can open, mail or archive.

It shows the run (training time, throughput, device, checkpoints), the final
metrics beside their real-vs-real floor and why any metric is missing, the
sample grids across training, the loss curves, the metric curves (metrics
evaluated more than once), the resolved config, and for the 2-D toy mixtures
the final samples over the true modes. ``gankit eval`` rewrites it.

    path = write_report(Path("runs/ring"))   # runs/ring/report.html
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from pathlib import Path

import yaml

from gankit.errors import GankitError
from gankit.metrics.evaluator import FLOOR_SUFFIX
from gankit.metrics.samples import no_floor_reason, number
from gankit.files import write_text
from gankit.report.plots import plot_losses, plot_metric_curves
from gankit.rundir import RunDirectory
from gankit.training.logging import read_metrics

MAX_GRIDS = 8  # sample grids shown across training, evenly spaced, the last always included
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; } td, th { padding: 0.3em 1em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.grids { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; text-align: center; }
figure img { max-width: 240px; image-rendering: pixelated; border: 1px solid #ddd; }
img.wide { max-width: 100%; } table.facts td { text-align: left; } .note { color: #666; font-size: 0.9em; }
"""


def _image(path: Path, css_class: str = "") -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    attr = f' class="{css_class}"' if css_class else ""
    return f'<img{attr} src="data:image/png;base64,{data}" alt="{html.escape(path.name)}">'


def _grids(run: RunDirectory) -> list[Path]:
    grids = sorted(run.previews.glob("step-*.png"))
    if len(grids) <= MAX_GRIDS:
        return grids
    picks = {round(i * (len(grids) - 1) / (MAX_GRIDS - 1)) for i in range(MAX_GRIDS)}
    return [grids[i] for i in sorted(picks)]


def _number(value) -> str:
    return html.escape(number(value))


def _skipped(evaluation: dict) -> str:
    """Why metrics are missing, as the evaluation recorded it."""
    reasons = evaluation.get("skipped") or {}
    items = "".join(f"<li>{'' if name == 'all' else f'<b>{html.escape(name)}</b>: '}{html.escape(why)}</li>"
                    for name, why in reasons.items())
    return f'<p class="note">Not computed:</p><ul class="note">{items}</ul>' if items else ""


def _run_facts(run: RunDirectory) -> str:
    """Training time, throughput, device and the checkpoints kept."""
    facts = json.loads(run.facts.read_text()) if run.facts.is_file() else {}
    rows = []
    if facts:
        rows += [("steps", number(facts["steps"])),
                 ("training time", f"{facts['train_seconds']:.1f} s (the training steps themselves)"),
                 ("device", f"{facts['device']}" + (f" x {facts['processes']} processes" if facts["processes"] > 1 else ""))]
        if facts.get("steps_per_second"):
            rows.append(("throughput", f"{facts['steps_per_second']:.3g} steps/s, "
                                       f"{facts['examples_per_second']:.3g} examples/s (batch {facts['batch_size']})"))
    checkpoints = sorted(run.checkpoints.glob("step-*.pt"))
    if checkpoints:
        rows.append(("checkpoints", ", ".join(f"{p.name} ({p.stat().st_size / 2**20:.1f} MiB)" for p in checkpoints)))
    if not rows:
        return ""
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<h2>Run</h2><table class="facts">{body}</table>'


def _scores(evaluation: dict) -> dict:
    return {k: v for k, v in evaluation.items()
            if isinstance(v, (int, float)) and not k.endswith(FLOOR_SUFFIX) and k not in ("step", "seed", "num_samples", "truncation")}


def _metrics_table(evaluation: dict) -> str:
    scores = _scores(evaluation)
    if not scores:
        why = _skipped(evaluation) or '<p class="note">No metric applies to this run (see <code>gankit eval --help</code>).</p>'
        return why
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_number(v)}</td><td>{_number(evaluation.get(k + FLOOR_SUFFIX, no_floor_reason(k)))}</td></tr>"
        for k, v in scores.items()
    )
    settings = ", ".join(f"{k}: {html.escape(str(evaluation[k]))}" for k in ("step", "data", "num_samples", "features", "truncation")
                         if k in evaluation)
    return (f'<p class="note">{settings}. The floor is the same metric between two disjoint halves of the real '
            f"data with as many examples: what a perfect generator would score.</p>"
            f"<table><tr><th>metric</th><th>value</th><th>floor (real vs real)</th></tr>{rows}</table>"
            + _skipped(evaluation))


def _detector_sections(run_dir: Path) -> list[str]:
    """What an inspection engineer looks at: held-out normal scores and the threshold; after
    ``gankit score``, the test metrics, ROC and PR curves, score histograms and ranked overlays."""
    from gankit.metrics.anomaly import BASELINE_SUFFIX
    from gankit.report.anomaly import plot_roc_pr, plot_score_histograms

    calibration = json.loads((run_dir / "normalization.json").read_text())
    sections = []
    if calibration.get("scores"):
        figure = plot_score_histograms({"held-out normal": calibration["scores"]}, calibration["raw_threshold"],
                                       run_dir / "calibration-scores.png", "held-out normal images")
        sections.append(
            f"<h2>Held-out normal scores and the threshold</h2><p class=\"note\">{calibration['num_images']} held-out "
            f"normal images ({html.escape(calibration['source'])}); the threshold is their "
            f"{calibration['threshold_quantile']:g} quantile (raw score {calibration['raw_threshold']:.4g}), set for a "
            f"{1 - calibration['threshold_quantile']:.2%} false-positive rate.</p><figure>{_image(figure, 'wide')}</figure>")
    test_path = RunDirectory(run_dir).test_scores
    if not test_path.is_file():
        sections.append('<p class="note">Run <code>gankit score</code> on this run to add test metrics, curves '
                        "and the most and least anomalous images here.</p>")
        return sections
    test = json.loads(test_path.read_text())
    metrics = test["metrics"]
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_number(v)}</td><td>{_number(metrics.get(k + BASELINE_SUFFIX, ''))}</td></tr>"
        for k, v in metrics.items() if not k.endswith(BASELINE_SUFFIX)
    )
    sections.append(f"<h2>Test scores</h2><p class=\"note\">{html.escape(test['data'])}. "
                    f"{html.escape(test['threshold_note'])}.</p>"
                    f"<table><tr><th>metric</th><th>value</th><th>trivial baseline</th></tr>{rows}</table>")
    labels = test["labels"]
    if labels is not None and 0 < sum(labels) < len(labels):
        curves = plot_roc_pr(test["scores"], labels, run_dir / "test-curves.png")
        groups = {"normal": [s for s, a in zip(test["scores"], labels) if not a],
                  "anomalous": [s for s, a in zip(test["scores"], labels) if a]}
        sections.append(f"<h2>ROC and precision-recall</h2><figure>{_image(curves, 'wide')}</figure>")
    else:
        groups = {"test": test["scores"]}
    histogram = plot_score_histograms(groups, test["raw_threshold"], run_dir / "test-scores.png", "test images")
    sections.append(f"<h2>Test score histograms</h2><figure>{_image(histogram, 'wide')}</figure>")
    ranked = [RunDirectory(run_dir).test_ranked(which) for which in ("most", "least")]
    figures = "".join(f"<figure>{_image(p)}<figcaption>{p.stem.removeprefix('test-').replace('-', ' ')} "
                      "(image | reconstruction | map)</figcaption></figure>" for p in ranked if p.is_file())
    if figures:
        sections.append(f'<h2>Most and least anomalous test images</h2><div class="grids">{figures}</div>')
    return sections


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report of ``run_dir`` (to ``out``, default ``RUN/report.html``)."""
    run = RunDirectory(run_dir)
    run_dir = run.path
    config_path = run.config
    if not config_path.is_file():
        raise GankitError(f"{run_dir} is not a run directory (no config.yaml)")
    rows = read_metrics(run_dir)
    eval_path = run.evaluation
    evaluation = json.loads(eval_path.read_text()) if eval_path.is_file() else {}
    config_text = config_path.read_text()
    title = f"{run_dir.name}"
    sections = [f"<h1>gankit run: {html.escape(title)}</h1>",
                f'<p class="note">Report written {time.strftime("%Y-%m-%d %H:%M:%S %Z")} from {html.escape(str(run_dir))}.</p>']

    sections.append(_run_facts(run))
    detector = (run_dir / "normalization.json").is_file()
    if not detector or _scores(evaluation):  # a detector's metrics come from `gankit score`
        sections.append("<h2>Final metrics</h2>" + _metrics_table(evaluation))
    if detector:
        sections += _detector_sections(run_dir)

    final = run.samples
    if final.is_file():
        heading = "Mode plot (final samples over the true modes)" if "modes_captured" in evaluation else "Final samples"
        sections.append(f"<h2>{heading}</h2><figure>{_image(final, 'wide' if 'modes_captured' in evaluation else '')}</figure>")

    grids = _grids(run)
    if grids:
        figures = "".join(
            f"<figure>{_image(p)}<figcaption>step {int(re.sub(r'[^0-9]', '', p.stem))}</figcaption></figure>"
            for p in grids
        )
        sections.append(f'<h2>Samples across training</h2><div class="grids">{figures}</div>')

    model_name = str((yaml.safe_load(config_text) or {}).get("model", {}).get("name", ""))
    losses = plot_losses(rows, run.losses, model_name)
    if losses:
        sections.append(f"<h2>Loss curves</h2><figure>{_image(losses, 'wide')}</figure>")
    curves = plot_metric_curves(rows, run.metric_curves, model_name)
    if curves:
        sections.append(f"<h2>Metric curves</h2><figure>{_image(curves, 'wide')}</figure>")

    sections.append(f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")
    return write_text(Path(out) if out else run.report, page)
