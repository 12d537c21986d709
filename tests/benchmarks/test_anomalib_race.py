"""benchmarks/anomalib_race.py's ablations: GANomaly subclasses with one (or four) of anomalib's
departures from the paper's code, which must train and score like GANomaly does."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from gankit.models.ganomaly.model import GANomalyConfig

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "anomalib_race.py"
spec = importlib.util.spec_from_file_location("anomalib_race", SCRIPT)
race = importlib.util.module_from_spec(spec)
sys.modules["anomalib_race"] = race
spec.loader.exec_module(race)


def model_of(ablation: str):
    torch.manual_seed(0)
    detector = race.ABLATIONS[ablation][0]
    # 32 px, the race's size: anomalib's first convolution (padding 4) maps it to 19, 9, then 4 px
    model = race.ganomaly_variants()[detector](GANomalyConfig(latent_dim=8, g_width=8, d_width=8), (3, 32, 32))
    model.optimizers = model.configure_optimizers()
    return model


@pytest.mark.parametrize("ablation", list(race.ABLATIONS))
def test_every_ablation_trains_and_scores(ablation):
    model = model_of(ablation)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    logs = model.train_step((x,), 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    assert model.anomaly_score(x).scores.shape == (4,)
    assert ablation in race.HOW_CHOSEN


def test_imagenet_scaling_is_what_the_networks_see_in_training_and_scoring():
    model = model_of("gankit-same-scale")
    white = torch.ones(2, 3, 32, 32)  # [0, 1] value 1 -> (1 - mean) / std, e.g. 2.25 on red
    seen = []
    model.generator.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model.anomaly_score(white)
    model.train_step((white,), 0)
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    for x in seen:
        assert torch.allclose(x[0, :, 0, 0], expected)


def test_the_combined_ablation_uses_the_smooth_l1_encoder_term_and_the_probability_adversarial_term():
    model = model_of("gankit-same-anomalib")
    x, x_hat = torch.zeros(2, 3, 32, 32), torch.ones(2, 3, 32, 32)
    z, z_hat = torch.zeros(2, 8, 1, 1), torch.full((2, 8, 1, 1), 3.0)
    terms = model.generator_losses(x, x_hat, z, z_hat)
    assert terms["encoder"].item() == pytest.approx(2.5)  # smooth L1 of 3: 3 - 0.5 (squared L2 would be 9)
    probabilities = torch.sigmoid(model.discriminator(x_hat)), torch.sigmoid(model.discriminator(x))
    assert terms["adversarial"].item() == pytest.approx(torch.nn.functional.mse_loss(*probabilities).item())


def test_anomalib_networks_pad_the_first_convolution_by_4_without_biases_and_exact_never_resets_d():
    model = model_of("gankit-same-exact")
    for encoder in (model.generator.encoder, model.generator.reencoder, model.discriminator):
        assert encoder.trunk[0].bias is None and encoder.head.bias is None
        assert encoder.trunk[0](torch.zeros(1, 3, 32, 32)).shape[-1] == 19
    assert model.generator.decoder.net[-2].bias is None
    assert race.ABLATIONS["gankit-same-exact"][1][-1] == "model.reinit_d_below=0"
    assert model.generator(torch.zeros(2, 3, 32, 32))[1].shape == (2, 8)
