import pytest
import torch

from tests.models.test_models import tiny_model

GENERATORS = ["gan", "wgan", "wgan_gp", "stylegan", "anogan", "egbad", "ganomaly", "fanogan"]


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trained_like(name: str, shape=(1, 16, 16)):
    """A tiny model in eval mode, as gankit.load returns it."""
    torch.manual_seed(0)
    model = tiny_model(name, shape)
    model.run_config = type("RunConfig", (), {"model_name": name})()
    if name == "stylegan":  # what training gives that initialisation lacks: a mean w, noise that matters
        with torch.no_grad():
            model.w_avg.copy_(model.generator_ema.mapping(torch.randn(256, model.config.latent_dim)).mean(0))
            for layer in model.generator_ema.synthesis.layers:
                layer.noise_strength.fill_(0.1)
    return model.eval().requires_grad_(False)
