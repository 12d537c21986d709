"""`gankit score` and gankit.score: CSV, metrics, threshold overrides, overlays, errors."""

import csv
import json

import pytest
from PIL import Image

import gankit
from gankit.cli import main
from tests.conftest import tiny_overrides


def sets(**extra):
    items = tiny_overrides("digits", **extra)
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("score") / "run"
    assert main(["train", "ganomaly", "--data", "digits", "--anomaly-classes", "3", "--steps", "4",
                 "--out", str(out), *sets()]) == 0
    return out


def test_score_cli_writes_csv_metrics_and_overlays(run, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(run), "--out", str(out), "--maps", str(tmp_path / "maps")]) == 0
    printed = capsys.readouterr().out
    assert "auroc" in printed and "best_f1" in printed
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["index", "name", "kind", "label", "score", "normalized", "decision"]
    assert sum(int(r["label"]) for r in rows) == 183  # every 3
    assert all(0 < float(r["normalized"]) < 1 and r["decision"] in ("0", "1") for r in rows)
    metrics = json.loads(out.with_suffix(".json").read_text())
    assert 0 <= metrics["auroc"] <= 1 and metrics["threshold"] == 0.5
    overlays = sorted((tmp_path / "maps").iterdir())
    assert len(overlays) == len(rows) and Image.open(overlays[0]).size[0] > 3 * 16
    assert (tmp_path / "scores-most-anomalous.png").is_file()


def test_threshold_overrides_and_another_protocol(run):
    model = gankit.load(run)
    strict = gankit.score(model, quantile=0.999)
    loose = gankit.score(model, threshold=0.01)
    assert sum(r["decision"] for r in loose.rows) >= sum(r["decision"] for r in strict.rows)
    assert sum(r["decision"] for r in loose.rows) > 0
    other = gankit.score(model, anomaly_classes=[5])
    assert other.metrics["num_anomalous"] == 182  # every 5 of the digits


def test_score_errors_are_one_line(run, tmp_path, capsys):
    assert main(["score", str(run), "--threshold", "2", "--out", str(tmp_path / "s.csv")]) == 2
    assert "normalised" in capsys.readouterr().err
    gan = tmp_path / "gan"
    assert main(["train", "gan", "--data", "digits", "--steps", "2", "--out", str(gan), *sets()]) == 0
    assert main(["score", str(gan)]) == 2
    assert "do not score anomalies" in capsys.readouterr().err
