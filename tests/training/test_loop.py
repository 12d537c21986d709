import json
import math

import pytest
import torch

from gankit import api
from gankit.errors import GankitError
from gankit.models.gan.model import GAN
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.logging import read_metrics
from gankit.training.loop import Trainer
from tests.conftest import tiny_overrides


def tiny_config(model="gan", data="toy:ring8", **extra):
    return api.make_config(model, data=data, overrides=tiny_overrides(data, **extra))


def test_a_run_directory_holds_everything(tmp_path):
    result = Trainer(tiny_config(**{"train.steps": 8}), tmp_path / "run").fit()
    run = tmp_path / "run"
    assert result.step == 8
    for name in ("config.yaml", "metrics.jsonl", "samples.png", "losses.png", "eval.json"):
        assert (run / name).is_file(), name
    assert [p.name for p in (run / "samples").iterdir()] == ["step-000000004.png", "step-000000008.png"]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-000000004.pt", "step-000000008.pt"]
    rows = read_metrics(run)
    assert [r["step"] for r in rows if r["kind"] == "train"] == [2, 4, 6, 8]
    evaluation = json.loads((run / "eval.json").read_text())
    assert evaluation["num_modes"] == 8 and 0 <= evaluation["high_quality"] <= 1


@pytest.mark.parametrize("model", ["gan", "wgan", "wgan_gp"])
def test_resume_continues_exactly(tmp_path, model):
    straight = Trainer(tiny_config(model, **{"train.steps": 8}), tmp_path / "a").fit()
    Trainer(tiny_config(model, **{"train.steps": 4}), tmp_path / "b").fit()
    resumed = api.resume(tmp_path / "b", steps=8)
    assert resumed.step == 8
    a = load_checkpoint(straight.checkpoint)
    b = load_checkpoint(resumed.checkpoint)
    for key in a.model:
        assert torch.equal(a.model[key], b.model[key]), key
    losses = lambda run: [r for r in read_metrics(run) if r["kind"] == "train"]  # noqa: E731
    assert losses(tmp_path / "a") == losses(tmp_path / "b")


def test_budgets_in_epochs_and_minutes(tmp_path):
    by_epochs = Trainer(tiny_config(**{"train.epochs": 0.5}), tmp_path / "e").fit()
    assert by_epochs.step == math.ceil(0.5 * 512 // 16)
    by_minutes = Trainer(tiny_config(**{"train.minutes": 0.001}), tmp_path / "m").fit()
    assert by_minutes.step >= 1


def test_existing_run_is_never_overwritten(tmp_path):
    Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "run").fit()
    with pytest.raises(GankitError, match="already holds a run"):
        Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "run")
    with pytest.raises(GankitError, match="no usable checkpoint.*without --resume"):
        Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "empty", resume=True)


def test_a_run_that_saved_no_checkpoint_starts_again_in_its_directory(tmp_path, monkeypatch, capsys):
    def fail(self, batch, step):
        raise RuntimeError("killed")

    monkeypatch.setattr(GAN, "train_step", fail)
    with pytest.raises(RuntimeError):
        Trainer(tiny_config(**{"train.steps": 8}), tmp_path / "run").fit()
    assert (tmp_path / "run" / "config.yaml").is_file()
    monkeypatch.undo()
    assert Trainer(tiny_config(**{"train.steps": 4}), tmp_path / "run").fit().step == 4
    assert "saved no checkpoint; starting it again" in capsys.readouterr().out


def test_non_finite_loss_stops_with_the_step_and_keeps_good_checkpoints(tmp_path, monkeypatch):
    real_step = GAN.train_step

    def step_that_diverges(self, batch, step):
        logs = real_step(self, batch, step)
        return {**logs, "loss_d": float("nan")} if step == 5 else logs

    monkeypatch.setattr(GAN, "train_step", step_that_diverges)
    with pytest.raises(GankitError, match=r"loss_d became nan at step 6.*step-000000004\.pt"):
        Trainer(tiny_config(**{"train.steps": 8}), tmp_path / "run").fit()
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-000000004.pt"]


def test_non_finite_loss_rolls_back_with_a_lower_learning_rate(tmp_path, monkeypatch, capsys):
    real_step = GAN.train_step
    diverged = []

    def step_that_diverges_once(self, batch, step):
        logs = real_step(self, batch, step)
        if step == 5 and not diverged:
            diverged.append(step)
            return {**logs, "loss_d": float("inf")}
        return logs

    monkeypatch.setattr(GAN, "train_step", step_that_diverges_once)
    result = Trainer(tiny_config(**{"train.steps": 8, "train.on_nan": "rollback"}), tmp_path / "run").fit()
    assert result.step == 8 and "rolled back to step-000000004.pt with learning rates x0.5" in capsys.readouterr().out
    state = load_checkpoint(result.checkpoint)
    assert state.nan_rollbacks == 1 and state.lr_scale == 0.5
    assert all(group["lr"] == 1e-4 for opt in state.optimizers.values() for group in opt["param_groups"])
    assert [r["step"] for r in read_metrics(tmp_path / "run") if r["kind"] == "train"] == [2, 4, 6, 8]


def test_rollbacks_give_up_after_the_limit(tmp_path, monkeypatch):
    real_step = GAN.train_step
    monkeypatch.setattr(GAN, "train_step", lambda self, batch, step: {
        **real_step(self, batch, step), **({"loss_g": float("nan")} if step >= 5 else {})})
    config = tiny_config(**{"train.steps": 8, "train.on_nan": "rollback", "train.nan_max_rollbacks": 2})
    with pytest.raises(GankitError, match="loss_g became nan at step 6.*2 roll-back"):
        Trainer(config, tmp_path / "run").fit()


def test_non_finite_weights_are_never_checkpointed(tmp_path, monkeypatch):
    real_step = GAN.train_step

    def step_that_poisons_weights(self, batch, step):
        logs = real_step(self, batch, step)
        if step == 7:  # the last step before the checkpoint at 8; its losses are still finite
            next(self.generator.parameters()).data.fill_(float("nan"))
        return logs

    monkeypatch.setattr(GAN, "train_step", step_that_poisons_weights)
    with pytest.raises(GankitError, match=r"weights generator\..* became non-finite at step 8.*step-000000004\.pt"):
        Trainer(tiny_config(**{"train.steps": 8}), tmp_path / "run").fit()
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-000000004.pt"]


def test_resume_may_change_only_training_settings(tmp_path):
    Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "run").fit()
    with pytest.raises(GankitError, match="only train"):
        api.resume(tmp_path / "run", ["model.latent_dim=4"])


def test_load_returns_a_sampling_model(tmp_path):
    Trainer(tiny_config(**{"train.steps": 2}), tmp_path / "run").fit()
    model = api.load(tmp_path / "run")
    assert model.sample(3).shape == (3, 2) and not model.training and model.step == 2
