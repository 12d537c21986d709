"""Exact resume for every variant: N steps straight equals k steps, a resume and N - k
steps, to the bit, in weights, buffers, optimizer states and logged losses."""

import pytest
import torch

from gankit import api
from gankit.models import MODELS
from gankit.training.checkpoint import load_checkpoint
from gankit.training.logging import read_metrics
from gankit.training.loop import Trainer
from tests.conftest import TINY_TRAIN, tiny_settings

STEPS, FIRST = 6, 3  # N and k; k is off the checkpoint cadence, so the resume starts from the budget's end
# Schedules whose every branch a six-step run passes through (on top of the tiny networks).
SCHEDULES = {
    "wgan": {"critic_steps": 2, "warmup_critic_steps": 3, "warmup_generator_steps": 1},
    "wgan_gp": {"critic_steps": 2},
    "stylegan": {"r1_every": 2},
    "anogan": {"search_steps": 3},
    # Stage 1 (WGAN-GP) for two batches, then the encoder: the resume lands in stage 2.
    "fanogan": {"critic_steps": 2, "gan_steps": 2, "encoder_steps": 4},
}
DATA = {"cyclegan": "unpaired:digits[classes=3],digits[classes=8]"}


def config(name, steps, extra=()):
    overrides = [f"model.{k}={v}" for k, v in tiny_settings(name, SCHEDULES).items()] + TINY_TRAIN + [
        "train.batch_size=4", "train.log_every=1", "train.eval_metrics=[]", "data.image_size=16",
        "train.sample_every=1000", *extra,
    ]
    return api.make_config(name, data=DATA.get(name, "digits"), steps=steps, overrides=overrides)


def assert_same(a, b, where):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.filterwarnings("ignore:f-AnoGAN's encoder got")  # the k-step run stops in stage 2
@pytest.mark.parametrize("name, extra", [(name, ()) for name in MODELS] + [
    (name, ("model.pack=2",)) for name in ("gan", "wgan", "wgan_gp")  # PacGAN's packs of two
], ids=list(MODELS) + ["gan-pack2", "wgan-pack2", "wgan_gp-pack2"])
def test_resume_is_exact(name, extra, tmp_path):
    straight = Trainer(config(name, STEPS, extra), tmp_path / "straight").fit()
    Trainer(config(name, FIRST, extra), tmp_path / "split").fit()
    resumed = api.resume(tmp_path / "split", steps=STEPS)
    assert resumed.step == straight.step == STEPS
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    for key in ("model", "optimizers", "stream", "rng"):
        assert_same(getattr(a, key), getattr(b, key), key)
    losses = lambda run: [r for r in read_metrics(run) if r["kind"] == "train"]  # noqa: E731
    assert len(losses(tmp_path / "straight")) == STEPS
    assert losses(tmp_path / "straight") == losses(tmp_path / "split")


def test_linear_lr_decay_falls_to_zero_and_resumes_exactly(tmp_path):
    import shutil

    decayed = config("gan", 4)
    decayed.train.lr_decay, decayed.train.checkpoint_every = "linear", 2
    straight = Trainer(decayed, tmp_path / "straight").fit()
    state = load_checkpoint(straight.checkpoint)
    for group in (g for opt in state.optimizers.values() for g in opt["param_groups"]):
        # the last step (index 3 of 4) ran at a quarter of the first learning rate
        assert group["lr"] == pytest.approx(group["initial_lr"] / 4)
    # An interrupted run: the same budget, resumed from the step-2 checkpoint.
    shutil.copytree(tmp_path / "straight", tmp_path / "cut")
    (tmp_path / "cut" / "checkpoints" / straight.checkpoint.name).unlink()
    resumed = api.resume(tmp_path / "cut", steps=4)
    assert_same(state.model, load_checkpoint(resumed.checkpoint).model, "model")
    assert_same(state.optimizers, load_checkpoint(resumed.checkpoint).optimizers, "optimizers")


def test_linear_lr_decay_needs_a_steps_budget():
    from gankit.errors import GankitError

    with pytest.raises(GankitError, match="train.lr_decay=linear decays to 0 at train.steps"):
        api.make_config("gan", data="digits", minutes=1, overrides=["train.lr_decay=linear"])
