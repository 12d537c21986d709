"""The four detectors trained for real on tiny runs: each separates inverted digits from
normal ones, calibrates on held-out normal data at the end of training, and keeps that
calibration through a checkpoint."""

import json

import pytest
import torch

from gankit import api
from gankit.data.anomaly import load_anomaly
from gankit.metrics.anomaly import image_metrics
from tests.conftest import TINY_TRAIN

DETECTORS = ["anogan", "egbad", "ganomaly", "fanogan"]
STEPS = 60
SMALL = ["model.latent_dim=16", "model.g_width=16", "model.d_width=16", "data.anomaly_classes=0",
         "train.batch_size=32", "train.sample_every=1000", "train.checkpoint_every=1000"]
# lr 1e-3: the papers' rates need far more than a test's 60 steps.
EXTRA = {
    "anogan": ["model.search_steps=20", "model.search_lr=0.05", "model.max_calibration_images=64",
               "model.lr_g=0.001", "model.lr_d=0.001"],
    "egbad": ["model.lr=0.001", "model.joint_width=64"],
    "ganomaly": ["model.lr=0.001"],
    "fanogan": ["model.gan_steps=40", "model.encoder_steps=20", "model.critic_steps=1", "model.lr=0.001",
                "model.lr_encoder=0.001"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("detectors")
    trained = {}
    for name in DETECTORS:
        torch.manual_seed(0)
        result = api.train(name, data="digits", steps=STEPS, out=root / name,
                           overrides=TINY_TRAIN + SMALL + EXTRA[name], progress=False)
        trained[name] = result.run_dir
    return trained


@pytest.mark.parametrize("name", DETECTORS)
def test_separates_inverted_digits(runs, name):
    model = api.load(runs[name])
    normal = load_anomaly(model.run_config.data, "test")
    x = normal.data.x[~normal.is_anomaly][:48]  # held-out normal digits, never trained on
    scores = model.score_dataset(torch.cat([x, -x])).scores  # inverted: white background, dark strokes
    labels = torch.cat([torch.zeros(len(x)), torch.ones(len(x))]).bool()
    auroc = image_metrics(scores, labels)["auroc"]
    assert auroc > 0.9, auroc


@pytest.mark.parametrize("name", DETECTORS)
def test_calibration_is_stored_and_normalises(runs, name):
    model = api.load(runs[name])
    stats = json.loads((runs[name] / "normalization.json").read_text())
    assert model.calibrated and model.calibration_scores.numel() == stats["num_images"]
    assert model.raw_threshold() == pytest.approx(stats["raw_threshold"])
    normal = model.calibration_scores
    normalized = model.normalize(normal)
    assert ((normalized > 0) & (normalized < 1)).all()
    assert torch.all(normalized[1:] >= normalized[:-1])  # monotone: rankings are unchanged
    assert model.normalize(torch.tensor([model.raw_threshold()])).item() == pytest.approx(0.5)
    assert (normalized >= 0.5).float().mean().item() <= 1 - model.config.threshold_quantile + 1 / normal.numel() + 1e-6


def test_scoring_uses_eval_mode_and_no_parameter_gradients(runs):
    model = api.load(runs["egbad"]).train().requires_grad_(True)
    x = load_anomaly(model.run_config.data, "calibration").data.x[:4]
    first = model.anomaly_score(x).scores
    assert torch.equal(first, model.anomaly_score(x).scores)  # batch norm statistics did not move
    assert model.training and all(p.grad is None for p in model.parameters())
