"""What you trained is what you serve, for detectors trained on patches: the exported file scores
16 px tiles, and gankit.deploy (and gankit serve) cut 32 px images into tiles, stitch the maps and
decide exactly as ``model.score_dataset`` (so ``gankit score``) does, for every image score, with
and without smoothed maps (``model.map_sigma``)."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.data.anomaly import load_anomaly
from gankit.deploy import load, score_folder, sidecar_path
from gankit.deploy.files import read_images

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TOLERANCE = 1e-4
IMAGE_SCORES = ["detector", "map_max", "map_top_k"]
TILED_RUNS = [f"ganomaly@tiled-{how}" for how in IMAGE_SCORES] + ["ganomaly@tiled-smoothed"]  # tests/conftest.py


def assert_scored_alike(out, model, x):
    """gankit.deploy's results for images x equal model.score_dataset's, its normalisation and decisions."""
    eager = model.score_dataset(x)
    normalized = model.normalize(eager.scores)
    expected = {"raw_score": eager.scores, "score": normalized, "map": eager.maps, "reconstruction": eager.reconstructions}
    for name, value in expected.items():
        assert out[name].shape == tuple(value.shape), name
        assert np.abs(out[name] - value.numpy()).max() <= TOLERANCE, f"{name}: {np.abs(out[name] - value.numpy()).max()}"
    assert (out["decision"] == (normalized >= 0.5).numpy()).all()


@pytest.mark.parametrize("name", TILED_RUNS)
def test_a_tiled_detector_scores_as_gankit_score(name, deploy_run, export_of):
    model = gankit.load(deploy_run(name))
    test = load_anomaly(model.run_config.data, "test")
    x = torch.cat([test.data.x[~test.is_anomaly][:30], test.data.x[test.is_anomaly][:30]])  # [60, 1, 32, 32]
    exported = load(export_of(name)[0])
    assert exported.data_shape == (1, 16, 16) and exported.image_shape == (1, 32, 32)
    out = exported.score(x.numpy())
    assert out["map"].shape == (60, 1, 32, 32)  # the stitched map of the whole image
    assert_scored_alike(out, model, x)
    fewer = exported.score(x[:4].numpy())  # other tile batches: the same rows
    assert np.abs(fewer["raw_score"] - out["raw_score"][:4]).max() <= TOLERANCE


@pytest.mark.parametrize("name", ["ganomaly@map_top_k", "ganomaly@smoothed"])
def test_a_detector_with_a_map_image_score_decides_as_gankit_score(name, deploy_run, export_of):
    model = gankit.load(deploy_run(name))
    x = load_anomaly(model.run_config.data, "test").data.x[:60]  # [60, 1, 16, 16]: no tiles
    exported = load(export_of(name)[0])
    assert exported.tiler is None
    assert_scored_alike(exported.score(x.numpy()), model, x)


def test_the_sidecar_says_how_the_file_scores(deploy_run, export_of):
    tiled = json.loads(sidecar_path(export_of("ganomaly@tiled-map_top_k")[0]).read_text())
    assert tiled["scoring"] == {"image_size": 32, "resize": "crop", "patch_size": 16, "tile_stride": 8, "map_sigma": 0.0,
                                "image_score": "map_top_k", "top_k": 0.05, "tile_batch": 256}
    assert tiled["data_shape"] == [1, 16, 16] and tiled["inputs"]["x"]["shape"] == ["N", 1, 16, 16]
    assert "tiles of 16 px of images brought to 32 px" in tiled["inputs"]["x"]["meaning"]
    assert list(tiled["outputs"]) == ["tile_score", "map", "reconstruction"]
    whole = json.loads(sidecar_path(export_of("ganomaly@map_top_k")[0]).read_text())
    assert whole["scoring"]["image_size"] == 16 and whole["scoring"]["tile_stride"] is None
    assert list(whole["outputs"]) == ["raw_score", "score", "decision", "map", "reconstruction"]
    assert json.loads(sidecar_path(export_of("ganomaly@tiled-smoothed")[0]).read_text())["scoring"]["map_sigma"] == 2.0


def write_pngs(folder, x):
    """Images [N, 1, S, S] in [-1, 1] as grey PNGs."""
    folder.mkdir(parents=True)
    for i, image in enumerate(((x[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()):
        Image.fromarray(image, "L").save(folder / f"{i:02d}.png")
    return sorted(folder.glob("*.png"))


def test_folders_and_the_service_score_full_size_images_by_tiles(deploy_run, export_of, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from gankit.serve.app import create_app

    name = "ganomaly@tiled-map_max"
    model = gankit.load(deploy_run(name))
    files = write_pngs(tmp_path / "images", load_anomaly(model.run_config.data, "test").data.x[-6:])
    exported = load(export_of(name)[0])
    x = torch.from_numpy(read_images(files, exported))  # [6, 1, 32, 32], as decoded from the files
    rows = score_folder(exported, tmp_path / "images", tmp_path / "scores.csv", maps=tmp_path / "maps")
    eager = model.score_dataset(x).scores
    assert np.abs(np.array([r["score"] for r in rows]) - eager.numpy()).max() <= TOLERANCE
    assert [r["decision"] for r in rows] == (model.normalize(eager) >= 0.5).int().tolist()
    assert len(list((tmp_path / "maps").iterdir())) == 6

    with TestClient(create_app(export_of(name))) as client:
        body = client.post("/score", files=[("files", (f.name, f.read_bytes(), "image/png")) for f in files]).json()
    assert np.abs(np.array([r["raw_score"] for r in body["results"]]) - eager.numpy()).max() <= TOLERANCE
    assert [r["decision"] for r in body["results"]] == (model.normalize(eager) >= 0.5).tolist()
    heat = Image.open(io.BytesIO(base64.b64decode(body["results"][0]["map"].split(",", 1)[1])))
    assert heat.size == (32, 32)  # the stitched map of the whole image, not of one tile


def write_defects(root):
    """A tiny defects:DIR protocol of 48 x 24 px grey images (wider than tall, as magnetic-tile's are),
    each test defect a bright square at the left edge, which a centre crop would cut off."""
    rng = np.random.default_rng(0)
    for part, count in (("train/good", 30), ("test/good", 3), ("test/spot", 3)):
        (root / part).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(90, 130, (24, 48), np.uint8)
            if part == "test/spot":
                pixels[8:16, 0:8] = 255
            Image.fromarray(pixels, "L").save(root / part / f"{i}.png")
    return root


def test_a_defect_folder_run_is_served_as_gankit_score_reads_it(tmp_path):
    """Defect folders are read whole (resized, not cropped): the export says so and deploy reads them
    the same way, so its scores of the test files are gankit score's."""
    from gankit import api
    from gankit.export import export_run
    from tests.conftest import TINY_MODEL, TINY_TRAIN

    folder = write_defects(tmp_path / "parts")
    run = tmp_path / "run"
    api.train("ganomaly", data=f"defects:{folder}", steps=4, out=run, progress=False,
              overrides=TINY_MODEL + TINY_TRAIN + ["data.image_size=32", "data.patch_size=16", "model.image_score=map_max"])
    exported = load(export_run(run, "onnx", tmp_path / "parts.onnx")[0])
    assert exported.info["scoring"]["resize"] == "whole"
    rows = score_folder(exported, folder / "test", tmp_path / "scores.csv")
    served = {row["name"]: row for row in rows}  # good/0, spot/2, ...
    scored = gankit.score(gankit.load(run)).rows  # the protocol's test part, as gankit score reads it
    assert len(scored) == len(served) == 6
    for row in scored:
        mine = served[Path(row["name"]).parent.name + "/" + Path(row["name"]).stem]
        assert abs(mine["score"] - row["score"]) <= TOLERANCE and mine["decision"] == row["decision"], (row, mine)
