import torch

from tests.models.conftest import one_thread  # noqa: F401  (tiny tensors: one thread)
from tests.models.test_models import tiny_model

GENERATORS = ["gan", "wgan", "wgan_gp", "stylegan", "anogan", "egbad", "ganomaly", "fanogan", "alad"]


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
