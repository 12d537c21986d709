"""`gankit score` and gankit.score: CSV, metrics, threshold overrides, overlays, errors."""

import csv
import json

import pytest
import torch
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
    captured = capsys.readouterr()
    printed = captured.out
    assert "auroc" in printed and "best_f1" in printed
    assert "(trivial baseline" in printed and "precision_at_threshold" in printed
    assert "the 0.99 quantile of 129 held-out normal scores, set for a 1.00% false-positive rate" in printed
    assert "gankit: warning: only 129 held-out normal images back the 0.99 quantile" in captured.err
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


def texture_folder(root, size=48):
    """An MVTec-style folder: smooth grey textures, a bright square in each defect image, its mask."""
    generator = torch.Generator().manual_seed(0)
    for part, count in (("train/good", 40), ("test/good", 4), ("test/spot", 4)):
        (root / part).mkdir(parents=True)
        for i in range(count):
            low = torch.rand(1, 1, 3, 3, generator=generator)
            image = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear")[0, 0] * 120 + 60
            if part == "test/spot":
                mask = torch.zeros(size, size)
                mask[10:16, 20:26] = 255
                image = torch.maximum(image, mask)
                (root / "ground_truth/spot").mkdir(parents=True, exist_ok=True)
                Image.fromarray(mask.byte().numpy()).save(root / f"ground_truth/spot/{i}_mask.png")
            Image.fromarray(image.byte().numpy()).save(root / part / f"{i}.png")
    return root


def test_a_patch_trained_run_scores_whole_images_by_tiles(tmp_path, capsys):
    data = texture_folder(tmp_path / "tiles")
    run = tmp_path / "run"
    assert main(["train", "ganomaly", "--data", f"defects:{data}", "--steps", "3", "--out", str(run),
                 *sets(**{"data.image_size": 48, "data.patch_size": 16, "train.batch_size": 8})]) == 0
    model = gankit.load(run)
    assert model.data_shape == (1, 16, 16) and model.calibrated
    result = gankit.score(model, out=tmp_path / "scores.csv", maps=tmp_path / "maps")
    assert {"auroc", "pixel_auroc", "aupro"} <= set(result.metrics)
    assert Image.open(next((tmp_path / "maps").iterdir())).size[1] >= 48  # full-resolution overlays
    assert model.score_dataset(torch.zeros(2, 1, 48, 64)).maps.shape == (2, 1, 48, 64)

    # A folder of unlabelled images: scores, decisions and full-size overlays, no metrics to compute.
    assert main(["score", str(run), "--data", f"defects:{data / 'test/spot'}", "--out", str(tmp_path / "u.csv"),
                 "--maps", str(tmp_path / "umaps")]) == 0
    rows = list(csv.DictReader((tmp_path / "u.csv").open()))
    assert len(rows) == 4 and all(r["label"] == "" and r["decision"] in ("0", "1") for r in rows)
    assert len(list((tmp_path / "umaps").iterdir())) == 4
    assert "false-positive rate" in capsys.readouterr().out
