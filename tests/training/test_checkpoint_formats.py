"""Checkpoints written by earlier and by the current gankit keep loading: stored files
(``fixtures/format-N/``: a toy GAN and a GANomaly on digits, two steps each, written by the
gankit of that format) are loaded, sampled or scored, and resumed."""

import shutil
from pathlib import Path

import pytest
import torch

from gankit import api
from gankit.training.checkpoint import FORMAT_VERSION, MIGRATIONS, load_checkpoint

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = sorted(int(p.name.split("-")[1]) for p in FIXTURES.glob("format-*"))


def test_every_format_has_fixtures_and_a_migration():
    assert FORMATS == list(range(1, FORMAT_VERSION + 1))  # a new format comes with its files
    assert sorted(MIGRATIONS) == list(range(1, FORMAT_VERSION))


@pytest.mark.parametrize("version", FORMATS)
@pytest.mark.parametrize("name", ["gan", "ganomaly"])
def test_stored_checkpoints_load_and_work(version, name):
    run = FIXTURES / f"format-{version}" / name
    stored = torch.load(next((run / "checkpoints").glob("step-*.pt")), weights_only=True)
    assert stored["format_version"] == version
    model = api.load(run)
    assert model.step == 2 and model.run_config.model_name == name
    if name == "gan":
        x = model.sample(4, generator=torch.Generator().manual_seed(0))
        assert x.shape == (4, *model.data_shape) and torch.isfinite(x).all()
    else:
        assert model.calibrated  # the calibration buffers came back too
        x = torch.rand(4, *model.data_shape) * 2 - 1
        assert torch.isfinite(model.score_dataset(x, 4).scores).all()


@pytest.mark.parametrize("version", FORMATS)
def test_stored_checkpoints_resume(version, tmp_path):
    run = tmp_path / "gan"
    shutil.copytree(FIXTURES / f"format-{version}" / "gan", run)
    result = api.resume(run, steps=4)
    assert result.step == 4
    assert load_checkpoint(result.checkpoint).step == 4


def test_format_1_files_from_before_optional_entries_migrate(tmp_path):
    """Format 1 files written before torchrun support (one rng state), before precision
    (no grad_scalers) and before roll-backs (no nan_rollbacks, lr_scale) still resume."""
    run = tmp_path / "gan"
    shutil.copytree(FIXTURES / "format-1" / "gan", run)
    path = next((run / "checkpoints").glob("step-*.pt"))
    state = torch.load(path, weights_only=True)
    state["rng"] = state["rng"][0]
    for key in ("grad_scalers", "nan_rollbacks", "lr_scale", "gankit_version"):
        del state[key]
    torch.save(state, path)
    checkpoint = load_checkpoint(path)
    assert isinstance(checkpoint.rng, list) and checkpoint.grad_scalers == {} and checkpoint.lr_scale == 1.0
    assert api.resume(run, steps=3).step == 3
