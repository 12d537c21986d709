"""Shared fixtures: tiny configs that train in well under a second on CPU."""

from __future__ import annotations

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

TINY_MODEL = ["model.latent_dim=8", "model.g_width=8", "model.d_width=8", "model.mlp_width=16", "model.mlp_depth=2"]
TINY_TRAIN = ["train.batch_size=16", "train.progress=false", "train.log_every=2", "train.sample_every=4",
              "train.checkpoint_every=4", "train.num_preview=16"]


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
