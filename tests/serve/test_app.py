"""gankit serve's HTTP API through FastAPI's TestClient: every endpoint, the limits and bad
uploads as clear 4xx/503 answers after which the service still answers, and the batcher."""

import asyncio
import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("onnxruntime")

from fastapi.testclient import TestClient  # noqa: E402

from gankit.cli import main  # noqa: E402
from gankit.deploy import load  # noqa: E402
from gankit.serve.app import Limits, create_app  # noqa: E402
from gankit.serve.batching import Batcher, Busy  # noqa: E402


def png_bytes(size=(16, 16), mode="L", seed=0, flat=False) -> bytes:
    """A random image (flat: all black, which compresses to almost nothing) as PNG bytes."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3 if mode == "RGB" else 1), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze(-1) * (not flat) if mode == "L" else pixels, mode).save(buffer, "png")
    return buffer.getvalue()


def uploads(*items):
    return [("files", (name, data, "image/png")) for name, data in items]


@pytest.fixture(scope="module")
def detector(export_of):
    with TestClient(create_app(export_of("ganomaly"))) as client:
        yield client


def test_health_model_and_page(detector):
    assert detector.get("/health").json()["status"] == "ok"
    info = detector.get("/model").json()
    assert info["job"] == "score" and info["files"][0]["calibration"]["threshold"] == 0.5
    page = detector.get("/")
    assert page.status_code == 200 and "gankit serve" in page.text and 'id="threshold"' in page.text


def test_score_answers_as_the_exported_file(detector, export_of):
    images = [png_bytes(seed=i) for i in range(3)]
    body = detector.post("/score", files=uploads(*[(f"{i}.png", d) for i, d in enumerate(images)])).json()
    assert [r["name"] for r in body["results"]] == ["0.png", "1.png", "2.png"]
    model = load(export_of("ganomaly")[0])
    x = np.stack([np.asarray(Image.open(io.BytesIO(d)), np.float32)[None] / 127.5 - 1 for d in images])
    expected = model.score(x)
    assert np.abs(np.array([r["raw_score"] for r in body["results"]]) - expected["raw_score"]).max() <= 1e-5
    assert [r["decision"] for r in body["results"]] == expected["decision"].tolist()
    assert all(r["map"].startswith("data:image/png;base64,") for r in body["results"])
    loose = detector.post("/score", files=uploads(("a.png", images[0])), data={"threshold": "0.01"}).json()
    assert loose["threshold"] == 0.01 and loose["results"][0]["decision"] == (loose["results"][0]["score"] >= 0.01)
    bare = detector.post("/score", files=uploads(("a.png", images[0])), data={"maps": "false"}).json()["results"][0]
    assert sorted(bare) == ["decision", "name", "raw_score", "score"]  # scores only, no pictures
    assert bare["raw_score"] == body["results"][0]["raw_score"]


def test_pictures_are_pngs_of_the_images_pixels():
    import base64

    from gankit.serve.app import png

    image = torch.rand(1, 5, 7, generator=torch.Generator().manual_seed(0))  # [C, H, W] in [0, 1]
    data = png(image)
    assert data.startswith("data:image/png;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))))
    assert decoded.shape == (5, 7) and (decoded == (image[0] * 255 + 0.5).to(torch.uint8).numpy()).all()  # grey stays grey


def test_bad_uploads_are_clear_4xx_and_the_service_stays_up(export_of):
    limits = Limits(max_upload_bytes=20_000, max_pixels=10_000, max_queue=2)
    with TestClient(create_app(export_of("ganomaly"), limits)) as client:
        cases = [
            (uploads(("notes.txt", b"not an image at all")), 415, "notes.txt is not an image"),
            (uploads(("photo.png", png_bytes(mode="RGB"))), 422, "the model takes grey (1 channel) images; this one is colour"),
            (uploads(("bomb.png", png_bytes(size=(200, 200), flat=True))), 413, "over the limit of 10000 pixels"),
            (uploads(("huge.png", b"\x89PNG" + bytes(30_000))), 413, "request body over the limit of 20000 bytes"),
            (uploads(*[(f"{i}.png", png_bytes(seed=i)) for i in range(3)]), 503, "busy: 0 images are waiting (limit 2)"),
            ([], 422, "no image uploaded"),
        ]
        for files, status, message in cases:
            response = client.post("/score", files=files) if files else client.post("/score", data={"threshold": "0.5"})
            assert response.status_code == status, (message, response.text)
            assert message in response.json()["detail"]
        assert client.post("/score", files=uploads(("a.png", png_bytes())), data={"threshold": "2"}).status_code == 422
        assert client.post("/sample", json={"n": 4}).status_code == 404
        assert client.get("/health").json()["status"] == "ok"
        assert client.post("/score", files=uploads(("a.png", png_bytes()))).status_code == 200


def test_sample_and_translate(export_of):
    with TestClient(create_app(export_of("stylegan"))) as client:
        body = client.post("/sample", json={"n": 4, "seed": 3, "psi": 0.7}).json()
        assert len(body["images"]) == 4 and body["psi"] == 0.7
        assert client.post("/sample", json={"n": 1000}).status_code == 422
    with TestClient(create_app(export_of("gan"))) as client:  # psi scales z: a GAN file takes it too
        truncated, plain = (client.post("/sample", json={"n": 2, "psi": psi}).json() for psi in (0.5, 1.0))
        assert truncated["psi"] == 0.5 and truncated["images"] != plain["images"]
    with TestClient(create_app(export_of("cyclegan"))) as client:
        for direction in ("a2b", "b2a"):
            body = client.post("/translate", files=uploads(("x.png", png_bytes())), data={"direction": direction}).json()
            assert body["direction"] == direction and body["results"][0]["translation"].startswith("data:image/png")
        assert client.post("/translate", files=uploads(("x.png", png_bytes())), data={"direction": "up"}).status_code == 422


def test_batcher_shares_calls_and_turns_a_burst_away():
    def run(x):
        time.sleep(0.05)
        return {"double": x * 2}

    async def burst():
        batcher = Batcher(run, max_batch=8, max_queue=12)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(np.full((2, 1), i)) for i in range(10)), return_exceptions=True)
        await batcher.stop()
        return batcher, results

    batcher, results = asyncio.run(burst())
    served = [r for r in results if not isinstance(r, Exception)]
    assert len(served) == 6 and all(isinstance(r, Busy) for r in results[6:])
    assert [int(r["double"][0, 0]) for r in served] == [0, 2, 4, 6, 8, 10]  # each request gets its own rows
    assert batcher.calls < len(served) and batcher.waiting == 0


def test_batcher_runs_fast_calls_in_the_event_loop_and_slow_ones_in_a_thread():
    import threading

    def run(x):
        time.sleep(float(x[0, 0]))
        return {"thread": np.array([threading.get_ident()])}

    async def calls(durations):
        batcher = Batcher(run, max_batch=1, max_queue=4, inline_below_s=0.2)  # wide margins for a loaded machine
        batcher.start()
        threads = [int((await batcher.submit(np.full((1, 1), d)))["thread"][0]) for d in durations]
        await batcher.stop()
        return [t == threading.get_ident() for t in threads]

    # the first call's cost is unknown (a thread); a fast one runs inline; after a slow one, a thread again
    assert asyncio.run(calls([0.0, 0.0, 0.4, 0.0, 0.0])) == [False, True, True, False, True]


def test_serve_cli_bad_target_is_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing.onnx")]) == 2
    assert "not a run directory or an exported file" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.onnx"), "--threads", "0"]) == 2
    assert "--threads must be > 0" in capsys.readouterr().err


def test_a_run_is_served_from_a_temporary_export(deploy_run):
    from gankit.serve import served_files

    with served_files(deploy_run("gan")) as paths:
        folder = paths[0].parent
        assert [p.name for p in paths] == ["model.onnx"] and (folder / "model.onnx.json").is_file()
        with TestClient(create_app(paths)) as client:
            assert len(client.post("/sample", json={"n": 2}).json()["images"]) == 2
    assert not folder.exists()  # nothing left behind
