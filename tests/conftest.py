"""Shared fixtures: tiny configs that train in well under a second on CPU."""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
from pathlib import Path

import pytest
import torch

# One thread: on a loaded machine (CI, shared boxes) two OpenMP threads spinning for
# two busy cores make tiny convolutions ten times slower, not faster.
torch.set_num_threads(1)

SHARED_DATA = Path(os.environ.get("GANKIT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))

# The one table of tiny networks: each variant takes the keys its config has.
TINY_NETWORKS = {
    "latent_dim": 8, "g_width": 8, "d_width": 8, "mlp_width": 16, "mlp_depth": 2, "joint_width": 16,
    "w_dim": 8, "mapping_depth": 2, "max_width": 16, "blocks": 1, "d_layers": 2, "pool_size": 2,
}
# Schedules that keep two training steps short: AnoGAN's search; f-AnoGAN's two stages one step each.
TINY_SCHEDULES = {"anogan": {"search_steps": 3}, "fanogan": {"gan_steps": 1, "encoder_steps": 1}}
# The GAN family's networks as --set overrides, for the command-line and API tests.
TINY_MODEL = [f"model.{k}={TINY_NETWORKS[k]}" for k in ("latent_dim", "g_width", "d_width", "mlp_width", "mlp_depth")]
TINY_TRAIN = ["train.batch_size=16", "train.progress=false", "train.log_every=2", "train.sample_every=4",
              "train.checkpoint_every=4", "train.num_preview=16"]


def tiny_settings(name: str, schedules: dict[str, dict] = TINY_SCHEDULES) -> dict[str, object]:
    """Tiny settings of variant ``name``: the networks of TINY_NETWORKS its config has, and its schedule."""
    from gankit.models import MODELS

    fields = {f.name for f in dataclasses.fields(MODELS[name].Config)}
    return {k: v for k, v in TINY_NETWORKS.items() if k in fields} | schedules.get(name, {})


def tiny_overrides(data: str = "toy:ring8", **extra: object) -> list[str]:
    data_options = ["data.toy_samples=512"] if data.startswith("toy:") else []
    return TINY_MODEL + TINY_TRAIN + data_options + [f"{k}={v}" for k, v in extra.items()]


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def digits_classifier(tmp_path_factory):
    """A classifier for the bundled digits, trained once per session in a private GANKIT_HOME."""
    from gankit.config import DataConfig
    from gankit.metrics.features.classifier import train_classifier

    home = tmp_path_factory.mktemp("gankit-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANKIT_HOME", str(home))
        train_classifier(DataConfig(spec="digits"), epochs=4, log=lambda message: None)
    return home


@pytest.fixture
def with_digits_classifier(digits_classifier, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(digits_classifier))
    return digits_classifier


@pytest.fixture
def file_size_limit():
    """A real write failure from the kernel (EFBIG past RLIMIT_FSIZE), which torch.save turns into
    'RuntimeError: ... inline_container.cc ... unexpected pos' exactly as it does a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size):
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)
TINY_STYLEGAN = ["model.latent_dim=8", "model.w_dim=8", "model.mapping_depth=2", "model.g_width=4", "model.d_width=4",
                 "model.max_width=8", "data.image_size=8"]
TINY_CYCLEGAN = ["model.g_width=4", "model.d_width=4", "model.blocks=1", "model.d_layers=2", "model.pool_size=2",
                 "data.image_size=16"]


@pytest.fixture(scope="session")
def deploy_run(tmp_path_factory):
    """deploy_run(variant) -> a tiny trained run (4 steps; detectors calibrated on digits with 3 anomalous),
    trained on first use and shared by the export, deploy and serve tests."""
    from gankit import api

    root = tmp_path_factory.mktemp("deploy-runs")
    detector = tiny_overrides("digits") + ["data.anomaly_classes=3"]
    overrides = {
        "gan": tiny_overrides("digits") + ["model.ema_kimg=0.1"],  # exports the EMA generator
        "stylegan": TINY_STYLEGAN + TINY_TRAIN,
        "cyclegan": TINY_CYCLEGAN + TINY_TRAIN + ["train.batch_size=2"],
        "ganomaly": detector,
        "egbad": detector,
        "fanogan": detector + ["model.gan_steps=2", "model.encoder_steps=2"],
        "anogan": detector + ["model.search_steps=2", "model.max_calibration_images=16"],
        "alad": [f"model.{k}={v}" for k, v in tiny_settings("alad").items()] + TINY_TRAIN + ["data.anomaly_classes=3"],
        # A detector whose image score is taken from its map, and detectors trained on 16 px patches of
        # 32 px images, scored by tiles (one per image score: each is calibrated on its own scores).
        "ganomaly@map_top_k": detector + ["model.image_score=map_top_k", "model.top_k=0.05"],
        **{f"ganomaly@tiled-{how}": detector + ["data.image_size=32", "data.patch_size=16", f"model.image_score={how}",
                                               "model.top_k=0.05"] for how in ("detector", "map_max", "map_top_k")},
        # Maps smoothed before the image score is taken (model.map_sigma), whole and tiled.
        "ganomaly@smoothed": detector + ["model.image_score=map_top_k", "model.top_k=0.05", "model.map_sigma=1.5"],
        "ganomaly@tiled-smoothed": detector + ["data.image_size=32", "data.patch_size=16", "model.image_score=map_max",
                                               "model.map_sigma=2"],
    }

    def run(name: str) -> Path:
        """name: a variant, or VARIANT@SETTING for one of the other runs above."""
        if not (root / name).is_dir():
            variant = name.partition("@")[0]
            data = None if variant == "cyclegan" else "digits"
            api.train(variant, data=data, steps=4, out=root / name, overrides=overrides[name], progress=False)
        return root / name

    return run


@pytest.fixture(scope="session")
def export_of(deploy_run, tmp_path_factory):
    """export_of(name, fmt="onnx") -> the exported files of that tiny run (deploy_run's names), exported once per session."""
    root = tmp_path_factory.mktemp("exports")
    cache: dict[tuple[str, str], list[Path]] = {}

    def export(name: str, fmt: str = "onnx") -> list[Path]:
        if (name, fmt) not in cache:
            from gankit.export import export_run

            cache[name, fmt] = export_run(deploy_run(name), fmt, root / f"{name}.{'onnx' if fmt == 'onnx' else 'pt'}")
        return cache[name, fmt]

    return export
