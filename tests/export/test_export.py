"""`gankit export`: every variant's job in ONNX and TorchScript agrees with the eager model
(max |diff| <= 1e-4, the same decisions, the same AUROC), the sidecar documents it, and bad
input is one line with nothing written."""

import json

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.data.anomaly import load_anomaly
from gankit.export import sidecar_path
from gankit.export.jobs import NOISE_SEED
from gankit.files import file_sha256
from gankit.metrics.anomaly import image_metrics

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # the ONNX exporter's dependency

TOLERANCE = 1e-4
BATCH = 5  # not the batch the graphs were recorded with: the batch axis must be dynamic
# EGBAD, f-AnoGAN and ALAD go through the same exported wrapper as GANomaly: their parity tests (a
# tiny run and an export each, ~40 s on a loaded core) run with the slow tests.
SLOW_DETECTORS = [pytest.param(name, marks=pytest.mark.slow) for name in ("egbad", "fanogan", "alad")]


def run_onnx(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: value.numpy() for name, value in inputs.items()})


def run_torchscript(path, inputs):
    outputs = torch.jit.load(str(path))(*inputs.values())
    return [o.numpy() for o in (outputs if isinstance(outputs, tuple) else (outputs,))]


RUNNERS = {"onnx": run_onnx, "torchscript": run_torchscript}


def eager(model, inputs, direction=None):
    """What the model's own API computes for these inputs (not the exported wrapper)."""
    if "anomaly_score" in model.capabilities():
        out = model.score_dataset(inputs["x"])  # the image score and smoothing of the run
        score = model.normalize(out.scores)
        return [out.scores, score, score >= 0.5, out.maps, out.reconstructions]
    if direction is not None:
        return [model.translate(inputs["x"], direction)]
    if "psi" in inputs:
        noise = model.make_noise(BATCH, torch.Generator().manual_seed(NOISE_SEED), shared=True)
        return [model.synthesize(model.styles(inputs["z"], inputs["psi"].item()), noise=noise)]
    return [model.sample(BATCH, generator=torch.Generator().manual_seed(7))]


def inputs_for(sidecar):
    if sidecar["job"] == "sample":
        z = torch.randn(BATCH, sidecar["inputs"]["z"]["shape"][1], generator=torch.Generator().manual_seed(7))
        return {"z": z, **({"psi": torch.tensor([0.7])} if "psi" in sidecar["inputs"] else {})}
    return {"x": torch.rand(BATCH, *sidecar["data_shape"], generator=torch.Generator().manual_seed(7)) * 2 - 1}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("variant", ["gan", "stylegan", "cyclegan", "ganomaly", "ganomaly@smoothed", *SLOW_DETECTORS])
def test_exported_job_matches_the_eager_model(variant, fmt, deploy_run, export_of):
    model = gankit.load(deploy_run(variant))
    paths = export_of(variant, fmt)
    assert len(paths) == (2 if variant == "cyclegan" else 1)
    for path in paths:
        sidecar = json.loads(sidecar_path(path).read_text())
        inputs = inputs_for(sidecar)
        expected = [t.numpy() for t in eager(model, inputs, sidecar.get("direction"))]
        got = RUNNERS[fmt](path, inputs)
        assert len(got) == len(expected)
        for name, a, b in zip(sidecar["outputs"], got, expected):
            assert a.shape == b.shape, name
            if b.dtype == bool:
                assert (a == b).all(), f"{variant}: decisions differ"
            else:
                assert np.abs(a - b).max() <= TOLERANCE, f"{variant} {name}: {np.abs(a - b).max()}"


@pytest.mark.parametrize("variant", ["ganomaly", "ganomaly@map_top_k", "ganomaly@smoothed", *SLOW_DETECTORS])
def test_exported_detector_scores_a_test_set_like_gankit_score(variant, deploy_run, export_of):
    model = gankit.load(deploy_run(variant))
    test = load_anomaly(model.run_config.data, "test")
    x = test.data.x[:400]  # [N, 1, 16, 16]
    labels = test.is_anomaly[:400]
    eager_scores = model.score_dataset(x).scores
    raw, score, decision, *_ = run_onnx(export_of(variant)[0], {"x": x})
    assert (decision == (model.normalize(eager_scores) >= 0.5).numpy()).all()
    assert np.abs(score - model.normalize(eager_scores).numpy()).max() <= TOLERANCE
    assert image_metrics(torch.from_numpy(raw), labels)["auroc"] == image_metrics(eager_scores, labels)["auroc"]


def test_sidecar_documents_the_contract_and_the_checkpoint(deploy_run, export_of):
    path = export_of("ganomaly")[0]
    sidecar = json.loads(sidecar_path(path).read_text())
    assert sidecar["model"] == "ganomaly" and sidecar["job"] == "score" and sidecar["gankit_version"] == gankit.__version__
    assert sidecar["inputs"]["x"]["shape"] == ["N", 1, 16, 16] and sidecar["inputs"]["x"]["range"] == [-1.0, 1.0]
    assert list(sidecar["outputs"]) == ["raw_score", "score", "decision", "map", "reconstruction"]
    calibration = sidecar["calibration"]
    model = gankit.load(deploy_run("ganomaly"))
    assert calibration["threshold"] == 0.5 and calibration["raw_threshold"] == pytest.approx(model.raw_threshold())
    checkpoint = sorted((deploy_run("ganomaly") / "checkpoints").glob("*.pt"))[-1]
    assert sidecar["checkpoint_sha256"] == file_sha256(checkpoint) and sidecar["file_sha256"] == file_sha256(path)
    style = json.loads(sidecar_path(export_of("stylegan")[0]).read_text())
    assert list(style["inputs"]) == ["z", "psi"] and "fixed" in style["noise"]
    assert [json.loads(sidecar_path(p).read_text())["direction"] for p in export_of("cyclegan")] == ["a2b", "b2a"]


def test_export_cli_and_bad_input(deploy_run, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(deploy_run("gan")), "--format", "torchscript", "--out", str(out / "gan.pt")]) == 0
    assert "gan.pt.json" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["gan.pt", "gan.pt.json"]
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    bad = {
        "no usable checkpoint (none saved yet)": [str(empty), "--format", "onnx"],
        "unsupported export format 'tflite'": [str(deploy_run("gan")), "--format", "tflite"],
        "anogan cannot be exported: AnoGAN scores an image by a latent search": [str(deploy_run("anogan")), "--format", "onnx"],
        "run directory not found": [str(tmp_path / "missing"), "--format", "onnx"],
    }
    for message, argv in bad.items():
        target = tmp_path / "nothing" / "model.onnx"
        assert main(["export", *argv, "--out", str(target)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not target.parent.exists()


def test_upsampled_conv_is_nearest_upsampling_then_the_conv():
    from torch.nn import functional as F

    from gankit.export.jobs import UpsampledConv
    from gankit.nn.blocks import EqualConv2d

    x = torch.randn(3, 5, 6, 7, generator=torch.Generator().manual_seed(0))
    for bias in (False, True):
        conv = EqualConv2d(5, 4, 3, bias=bias, gain=2**0.5)
        if bias:
            torch.nn.init.normal_(conv.bias)
        expected = conv(F.interpolate(x, scale_factor=2, mode="nearest"))  # [3, 4, 12, 14]
        assert (UpsampledConv(conv)(x) - expected).abs().max() <= 1e-5
