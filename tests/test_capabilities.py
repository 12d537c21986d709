"""Jobs are declared (gankit.capabilities) and asked for with isinstance; a model needs no run."""

import pytest
import torch

import gankit
from gankit.capabilities import JOBS, AnomalyScorer, LatentGenerator, Reconstructor, Sampler, Translator
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.models.base import GANModel
from gankit.models.gan.model import GAN, GANConfig
from tests.models.test_models import tiny_model

IMAGE = (1, 16, 16)


def test_every_variant_declares_at_least_one_job_and_implements_it():
    for name, cls in MODELS.items():
        jobs = [job for job in JOBS if issubclass(cls, job)]
        assert jobs, name
        assert cls.capabilities() == [job.job for job in jobs]
        assert not getattr(cls, "__abstractmethods__", None), f"{name} leaves {cls.__abstractmethods__} undefined"


def test_a_declared_job_without_its_method_fails_when_built():
    class Forgetful(GANModel, Translator):
        Config = GANConfig
        description = "declares translate, defines none"

    with pytest.raises(TypeError, match="translate"):
        Forgetful(GANConfig(), IMAGE)


@pytest.mark.parametrize("name", [n for n, c in MODELS.items() if issubclass(c, LatentGenerator)])
def test_latent_generators_generate_differentiably_from_every_space(name):
    torch.manual_seed(0)
    model = tiny_model(name, IMAGE).eval()
    for space in model.latent_spaces:
        latents = model.draw_latents(3, space, torch.Generator().manual_seed(1)).requires_grad_(True)
        x = model.generate(latents, space)
        assert x.shape == (3, *IMAGE)
        (grad,) = torch.autograd.grad(x.sum(), latents)
        assert grad.abs().sum() > 0
    assert model.generator_network() in model.children()
    if name != "stylegan":  # (StyleGAN's samples draw their noise maps from the seed too)
        # sample() is generate() of prior latents, in eval mode and without gradients
        z = model.draw_latents(2, "z", torch.Generator().manual_seed(4))
        assert torch.equal(model.sample(2, generator=torch.Generator().manual_seed(4)), model.generate(z).detach())
    with pytest.raises(GankitError, match="latent spaces"):
        model.draw_latents(1, "q")


def test_what_each_family_declares():
    assert issubclass(MODELS["stylegan"], LatentGenerator) and MODELS["stylegan"].sample_options == ("truncation", "cutoff")
    assert all(MODELS[name].sample_options == ("truncation",) for name in ("gan", "wgan", "wgan_gp", "egbad", "alad"))
    assert issubclass(MODELS["cyclegan"], Translator) and not issubclass(MODELS["cyclegan"], Sampler)
    assert issubclass(MODELS["ganomaly"], AnomalyScorer) and issubclass(MODELS["ganomaly"], Reconstructor)
    assert not issubclass(MODELS["ganomaly"], Sampler)  # its latent is not trained towards a prior


def test_a_model_built_by_hand_is_prepared_and_scored_without_a_run(tmp_path):
    torch.manual_seed(0)
    gan = GAN(GANConfig(latent_dim=8, g_width=8, d_width=8), IMAGE)
    assert gan.run_config is None and gan.step == 0 and gan.optimizers == {} and gan.name == "GAN"
    gan.prepare_training()
    assert set(gan.optimizers) == {"g", "d"} and gan.grad_scalers == {}

    detector = tiny_model("ganomaly", IMAGE)
    with pytest.raises(GankitError, match="give the test data"):
        gankit.score(detector)
    result = gankit.score(detector, data="digits", anomaly_classes=[0])
    assert result.metrics["num_anomalous"] > 0 and 0 <= result.metrics["auroc"] <= 1
    with pytest.raises(GankitError, match="do not score anomalies; use one of anogan"):
        gankit.score(gan, data="digits")
