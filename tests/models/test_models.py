"""Every variant: build tiny, two training steps, checkpoint round-trip, capability."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tests.conftest import tiny_settings


def tiny_model(name, shape):
    cls = MODELS[name]
    model = cls(cls.Config(**tiny_settings(name)), shape)
    model.prepare_training()
    return model


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(1, 16, 16), (2,)], ids=["image", "points"])
def test_variant_trains_round_trips_and_samples(name, shape, tmp_path):
    torch.manual_seed(0)
    try:
        model = tiny_model(name, shape)
    except GankitError as error:  # image-only variants (translation, detection, StyleGAN) refuse points
        assert len(shape) == 1 and "image" in str(error)
        return
    capabilities = MODELS[name].capabilities()
    x = torch.rand(8, *shape) * 2 - 1
    # Translation models train on unpaired batches (a, b); the others on (x, labels).
    second = torch.rand(8, *shape) * 2 - 1 if "translate" in capabilities else torch.zeros(8, dtype=torch.long)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):
        logs = model.train_step((x, second), step)
        assert logs and all(isinstance(v, float) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    checkpoint = Checkpoint(step=2, gankit_version="test", model_name=name, config={}, data_shape=list(shape),
                            model=model.state_dict(),
                            optimizers={k: o.state_dict() for k, o in model.optimizers.items()})
    path = save_checkpoint(tmp_path, checkpoint, keep=1)
    clone = tiny_model(name, shape)
    state = load_checkpoint(path, model_name=name)
    clone.load_state_dict(state.model)
    for key, opt in clone.optimizers.items():
        opt.load_state_dict(state.optimizers[key])
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert capabilities
    if "sample" in capabilities:
        samples = model.sample(5, generator=g())
        assert samples.shape == (5, *shape)
        assert torch.equal(samples, clone.sample(5, generator=g()))
        if len(shape) == 3:
            assert samples.min() >= -1 and samples.max() <= 1
    if "translate" in capabilities:
        out = model.translate(x[:5], "a2b")
        assert out.shape == (5, *shape) and torch.equal(out, clone.translate(x[:5], "a2b"))
    if "anomaly_score" in capabilities:
        kwargs = lambda: {"generator": g()} if name == "anogan" else {}  # noqa: E731
        out = model.anomaly_score(x[:5], **kwargs())
        assert out.scores.shape == (5,) and out.maps.shape == (5, 1, *shape[1:])
        assert torch.allclose(out.scores, clone.anomaly_score(x[:5], **kwargs()).scores)
        assert model.training  # scoring restores the training mode


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_dcgan_sizes(size):
    model = tiny_model("gan", (3, size, size))
    assert model.sample(2).shape == (2, 3, size, size)
    assert model.discriminator(torch.zeros(2, 3, size, size)).shape == (2,)
