"""--precision, --channels-last and --compile: every variant trains under each precision."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.training.checkpoint import load_checkpoint
from gankit.training.loop import Trainer
from gankit.training.precision import Precision
from tests.models.test_models import tiny_model
from tests.training.test_loop import tiny_config

IMAGE = (1, 16, 16)


@pytest.mark.parametrize("precision", ["bf16", "16-mixed"])
@pytest.mark.parametrize("name", list(MODELS))
def test_every_variant_trains_under_autocast(name, precision):
    torch.manual_seed(0)
    model = tiny_model(name, IMAGE)
    mode = Precision(precision, torch.device("cpu"))
    model.grad_scalers = mode.grad_scalers(model.optimizers)
    x = torch.rand(8, *IMAGE) * 2 - 1
    second = torch.rand(8, *IMAGE) * 2 - 1 if "translate" in model.capabilities() else torch.zeros(8, dtype=torch.long)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):
        with mode.autocast():
            logs = model.train_step((x, second), step)
        assert all(torch.isfinite(torch.tensor(v)) for v in logs.values()), logs
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
    assert set(model.grad_scalers) == (set(model.optimizers) if precision == "16-mixed" else set())


def test_autocast_really_lowers_precision():
    model = tiny_model("gan", IMAGE)
    with Precision("bf16", torch.device("cpu")).autocast():
        assert model.discriminator(torch.zeros(2, *IMAGE)).dtype == torch.bfloat16


def test_fp16_skips_a_step_whose_gradients_overflow():
    model = tiny_model("gan", IMAGE)
    model.grad_scalers = Precision("16-mixed", torch.device("cpu")).grad_scalers(model.optimizers)
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    scale = model.grad_scalers["d"].get_scale()
    loss = model.discriminator(torch.zeros(2, *IMAGE)).sum() * float("inf")
    model.optimize(loss, "d")
    assert all(torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters()))
    assert model.grad_scalers["d"].get_scale() < scale


@pytest.mark.parametrize("precision", ["bf16", "16-mixed"])
def test_loop_resumes_exactly_in_half_precision(tmp_path, precision):
    extra = {"train.precision": precision, "model.network": "dcgan"}
    straight = Trainer(tiny_config(data="digits", **extra, **{"train.steps": 8}), tmp_path / "a").fit()
    Trainer(tiny_config(data="digits", **extra, **{"train.steps": 4}), tmp_path / "b").fit()
    resumed = Trainer(tiny_config(data="digits", **extra, **{"train.steps": 8}), tmp_path / "b", resume=True).fit()
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert all(torch.equal(a.model[k], b.model[k]) for k in a.model)
    assert set(a.grad_scalers) == ({"g", "d"} if precision == "16-mixed" else set())


def test_channels_last_trains_and_loads_into_a_plain_model(tmp_path):
    config = tiny_config(data="digits", **{"train.channels_last": True, "train.steps": 2, "model.network": "dcgan"})
    trainer = Trainer(config, tmp_path / "run")
    result = trainer.fit()
    conv = next(p for p in trainer.model.discriminator.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    plain = tiny_model("gan", trainer.data.shape)
    plain.load_state_dict(load_checkpoint(result.checkpoint).model)


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(GankitError, match="train.precision must be one of 32, bf16, 16-mixed"):
        tiny_config(**{"train.precision": "fp8"})


@pytest.mark.slow  # compiling costs a minute or more on a cold cache
@pytest.mark.parametrize("name", ["gan", "wgan_gp"])
def test_compile_trains_including_gradient_penalties(tmp_path, name):
    config = tiny_config(name, data="digits", **{"train.compile": True, "train.steps": 3, "model.network": "dcgan"})
    trainer = Trainer(config, tmp_path / "run")
    assert trainer.fit().step == 3
    assert all(hasattr(w, "_orig_mod") for w in trainer.wrappers.values())
