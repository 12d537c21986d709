"""Every variant: build tiny, two training steps, checkpoint round-trip, capability."""

import dataclasses

import pytest
import torch

from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.training.checkpoint import load_checkpoint, save_checkpoint

TINY = {"latent_dim": 8, "g_width": 8, "d_width": 8, "mlp_width": 16, "mlp_depth": 2}
# Fields that only some variants have; each variant takes the TINY and TINY_EXTRA keys its config knows.
TINY_EXTRA = {"w_dim": 8, "mapping_depth": 2, "max_width": 16, "blocks": 1, "d_layers": 2, "pool_size": 2}
IMAGE_ONLY = {"cyclegan", "stylegan"}  # variants that refuse 2-D points with a one-line error


def tiny_model(name, shape):
    cls = MODELS[name]
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    model = cls(cls.Config(**{k: v for k, v in {**TINY, **TINY_EXTRA}.items() if k in fields}), shape)
    model.optimizers = model.configure_optimizers()
    return model


def capability_output(model, generator):
    """What the variant makes: samples, or translations of fixed inputs."""
    if "sample" in model.capabilities():
        return model.sample(5, generator=generator)
    x = torch.rand(5, *model.data_shape, generator=generator) * 2 - 1
    return model.translate(x, "a2b")


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(1, 16, 16), (2,)], ids=["image", "points"])
def test_variant_trains_round_trips_and_samples(name, shape, tmp_path):
    torch.manual_seed(0)
    if name in IMAGE_ONLY and len(shape) != 3:
        with pytest.raises(GankitError, match="image"):
            tiny_model(name, shape)
        return
    model = tiny_model(name, shape)
    x = torch.rand(8, *shape) * 2 - 1
    # Translation models train on unpaired batches (a, b); the others on (x, labels).
    second = torch.rand(8, *shape) * 2 - 1 if "translate" in model.capabilities() else torch.zeros(8, dtype=torch.long)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):
        logs = model.train_step((x, second), step)
        assert logs and all(isinstance(v, float) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    path = save_checkpoint(
        tmp_path, 2, {"model": model.state_dict(), "optimizers": {k: o.state_dict() for k, o in model.optimizers.items()}}, keep=1
    )
    clone = tiny_model(name, shape)
    state = load_checkpoint(path)
    clone.load_state_dict(state["model"])
    for key, opt in clone.optimizers.items():
        opt.load_state_dict(state["optimizers"][key])
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert model.capabilities()
    out = capability_output(model, g())
    assert out.shape == (5, *shape)
    assert torch.equal(out, capability_output(clone, g()))
    if len(shape) == 3:
        assert out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_dcgan_sizes(size):
    model = tiny_model("gan", (3, size, size))
    assert model.sample(2).shape == (2, 3, size, size)
    assert model.discriminator(torch.zeros(2, 3, size, size)).shape == (2,)
