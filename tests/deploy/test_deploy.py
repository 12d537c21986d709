"""gankit.deploy: exported files scored, sampled and translated with ONNX Runtime, without the
training stack, with the results of the eager model and the CSV columns of `gankit score`."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.deploy import load, sample_files, score_folder, sidecar_path, translate_folder
from gankit.deploy.__main__ import main as deploy_main
from gankit.deploy.files import COLUMNS, read_images
from gankit.errors import GankitError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def write_digits(folder, count=24):
    """Test digits as 16 px PNGs, in two subfolders."""
    from gankit.config import DataConfig
    from gankit.data import load_data

    x = load_data(DataConfig(spec="digits", split="test")).x[:count]  # [N, 1, 16, 16] in [-1, 1]
    pixels = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()
    for i, image in enumerate(pixels):
        target = folder / ("a" if i % 2 else "b") / f"{i:03d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "L").save(target)
    return folder


def test_deploy_imports_no_training_stack(export_of, tmp_path):
    path = export_of("ganomaly")[0]
    folder = write_digits(tmp_path / "digits", 4)
    code = (
        "import sys, gankit.deploy as d\n"
        f"d.score_folder(d.load({str(path)!r}), {str(folder)!r}, {str(tmp_path / 's.csv')!r}, maps={str(tmp_path / 'm')!r})\n"
        "print(sorted(m for m in ('matplotlib', 'torchmetrics', 'gankit.training.loop', 'gankit.api', "
        "'gankit.scoring', 'sklearn') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_pinned_process_runs_one_thread_per_allowed_core(export_of, monkeypatch):
    import gankit.deploy as deploy

    path = export_of("ganomaly")[0]
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert deploy.allowed_cores() == 1
    assert load(path).session.get_session_options().intra_op_num_threads == 1
    assert load(path, threads=3).session.get_session_options().intra_op_num_threads == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert deploy.allowed_cores() is None  # not pinned: ONNX Runtime's own choice
    assert load(path).session.get_session_options().intra_op_num_threads == 0


def test_score_folder_matches_the_eager_model(deploy_run, export_of, tmp_path):
    model = gankit.load(deploy_run("ganomaly"))
    exported = load(export_of("ganomaly")[0])
    folder = write_digits(tmp_path / "digits")
    rows = score_folder(exported, folder, tmp_path / "scores.csv", maps=tmp_path / "maps")
    with open(tmp_path / "scores.csv") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == COLUMNS and len(written) == 24
    assert [r["kind"] for r in written[:2]] == ["a", "a"] and written[0]["name"] == "a/001"
    files = sorted(folder.rglob("*.png"))
    x = torch.from_numpy(read_images(files, exported))
    eager = model.score_dataset(x).scores
    assert np.abs(np.array([r["score"] for r in rows]) - eager.numpy()).max() <= 1e-4
    assert [r["decision"] for r in rows] == (model.normalize(eager) >= 0.5).int().tolist()
    assert len(list((tmp_path / "maps").iterdir())) == 24
    strict = score_folder(exported, folder, tmp_path / "strict.csv", threshold=0.999)
    assert sum(r["decision"] for r in strict) <= sum(r["decision"] for r in rows)


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_sample_with_a_seed_is_gankit_sample(deploy_run, export_of, tmp_path):
    model = gankit.load(deploy_run("gan"))
    exported = load(export_of("gan")[0])
    for psi in (1.0, 0.5):
        eager = model.sample(6, generator=torch.Generator().manual_seed(3), truncation=psi).numpy()
        assert np.abs(exported.sample(6, seed=3, psi=psi) - eager).max() <= 1e-4
    style = gankit.load(deploy_run("stylegan"))
    exported_style = load(export_of("stylegan")[0])
    z = torch.from_numpy(exported_style.latents(4, seed=1))
    noise = style.make_noise(4, torch.Generator().manual_seed(0), shared=True)
    eager_style = style.synthesize(style.styles(z, 0.5), noise=noise).numpy()
    assert np.abs(exported_style.sample(4, seed=1, psi=0.5) - eager_style).max() <= 1e-4
    out = sample_files(exported_style, tmp_path / "grid.png", n=9, seed=1, psi=0.5)
    assert Image.open(out).size == (3 * 8 + 4, 3 * 8 + 4)


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_translate_folder_writes_one_png_per_image(export_of, tmp_path):
    a2b, b2a = map(load, export_of("cyclegan"))
    assert (a2b.info["direction"], b2a.info["direction"]) == ("a2b", "b2a")
    written = translate_folder(a2b, [write_digits(tmp_path / "digits", 5)], tmp_path / "out")
    assert len(written) == 5 and Image.open(written[0]).size == (16, 16)


def test_bad_files_and_jobs_are_one_line(export_of, tmp_path, capsys):
    detector = load(export_of("ganomaly")[0])
    with pytest.raises(GankitError, match="'score' file; it cannot sample"):
        detector.sample(4)
    with pytest.raises(GankitError, match=r"expects images \[N, 1, 16, 16\], got \[2, 3, 16, 16\]"):
        detector.score(np.zeros((2, 3, 16, 16), np.float32))
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(export_of("gan")[0].read_bytes())
    assert deploy_main([str(lone), "--out", str(tmp_path / "g.png")]) == 2
    assert "has no sidecar lone.onnx.json" in capsys.readouterr().err
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    sidecar_path(broken).write_text(sidecar_path(export_of("gan")[0]).read_text())
    assert deploy_main([str(broken), "--out", str(tmp_path / "g.png")]) == 2
    assert "ONNX Runtime cannot load" in capsys.readouterr().err
    torchscript = export_of("gan", "torchscript")[0]
    assert deploy_main([str(torchscript), "--out", str(tmp_path / "g.png")]) == 2
    assert "is not an ONNX file" in capsys.readouterr().err
    assert deploy_main([str(export_of("ganomaly")[0]), "--out", str(tmp_path / "s.csv")]) == 2
    assert "needs INPUT images" in capsys.readouterr().err
    assert json.loads(sidecar_path(export_of("gan")[0]).read_text())["job"] == "sample"
