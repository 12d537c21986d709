"""Cycle L1, label preservation and translation FID/KID, checked against direct computation."""

import pytest
import torch

from gankit.config import DataConfig
from gankit.errors import GankitWarning
from gankit.data import load_data
from gankit.metrics.fid import frechet_distance
from gankit.metrics.translation import (
    TranslationFID,
    accuracy,
    cycle_l1,
    label_preservation,
    per_class,
    translation_distances,
)
from gankit.models.cyclegan.model import CycleGAN, CycleGANConfig


def tiny_cyclegan(size=16):
    torch.manual_seed(0)
    return CycleGAN(CycleGANConfig(g_width=4, d_width=4, blocks=1, d_layers=2), (1, size, size)).eval()


class BrightnessJudge:
    """A stand-in classifier: class 1 for bright images; features are brightness statistics."""

    def features(self, x):
        flat = x.flatten(1)
        return torch.stack([flat.mean(1), flat.std(1), flat.amax(1)], dim=1)

    def probs(self, x):
        bright = (x.flatten(1).mean(1) > 0).float()
        return torch.stack([1 - bright, bright], dim=1)


def test_cycle_l1_is_the_mean_absolute_reconstruction_error():
    model = tiny_cyclegan()
    a, b = torch.rand(3, 1, 16, 16) * 2 - 1, torch.rand(70, 1, 16, 16) * 2 - 1  # b spans two batches
    values = cycle_l1(model, a, b)
    with torch.no_grad():
        expected_a = (model.generator_ba(model.generator_ab(a)) - a).abs().mean().item()
        expected_b = (model.generator_ab(model.generator_ba(b)) - b).abs().mean().item()
    assert abs(values["cycle_l1_a"] - expected_a) < 1e-6 and abs(values["cycle_l1_b"] - expected_b) < 1e-6


def test_label_preservation_counts_translations_the_judge_labels_right():
    y = torch.arange(40) % 2
    x = torch.where(y.view(-1, 1, 1, 1).bool(), 0.8, -0.8) + 0.1 * torch.randn(40, 1, 16, 16)
    judge = BrightnessJudge()
    assert accuracy(judge, x, y) == 1.0
    model = tiny_cyclegan()
    with torch.no_grad():
        translated = model.generator_ab(x)
    expected = (judge.probs(translated).argmax(1) == y).float().mean().item()
    assert label_preservation(model, x, y, judge, "a2b") == expected


def test_per_class_names_each_labels_share_and_what_the_judge_says_instead():
    # Labels 0, 1 and 2; the judge only knows dark (0) and bright (1): every 2 is read as 1.
    y = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    x = torch.where((y > 0).view(-1, 1, 1, 1), 0.8, -0.8).expand(-1, 1, 4, 4).clone()
    x[2] = -0.8  # one bright 1 drawn dark: read as 0
    rows = per_class(BrightnessJudge(), x, y)
    assert rows[0] == {"count": 2, "share": 1.0, "most_common_wrong": None, "most_common_wrong_count": 0}
    assert rows[1]["count"] == 3 and abs(rows[1]["share"] - 2 / 3) < 1e-6 and rows[1]["most_common_wrong"] == 0
    assert rows[2] == {"count": 2, "share": 0.0, "most_common_wrong": 1, "most_common_wrong_count": 2}


def test_translation_distances_and_their_floor():
    torch.manual_seed(0)
    real = torch.rand(80, 1, 8, 8) * 2 - 1
    values = translation_distances(real[:20] * 0 - 1, real, BrightnessJudge())
    judge = BrightnessJudge()
    assert values["fid"] == pytest.approx(frechet_distance(judge.features(real[:20]), judge.features(real[:20] * 0 - 1)))
    assert values["fid_floor"] == pytest.approx(frechet_distance(judge.features(real[:20]), judge.features(real[20:40])))
    assert values["fid"] > 10 * values["fid_floor"] and values["kid_mean"] > values["kid_mean_floor"]


def test_translation_fid_uses_each_target_domains_cached_classifier(with_digits_classifier):
    data = load_data(DataConfig(spec="unpaired:digits[classes=3],digits[classes=8]", image_size=16))
    values = TranslationFID().compute(tiny_cyclegan(), data, num_samples=40)
    assert set(values) == {f"{k}_{d}{f}" for d in ("a2b", "b2a") for k, f in
                           [("fid", ""), ("fid", "_floor"), ("kid_mean", ""), ("kid_mean", "_floor"), ("kid_std", "")]}
    assert values["fid_a2b"] > values["fid_a2b_floor"]  # an untrained translator is far from real digits


def test_translation_fid_without_a_classifier_warns_and_skips(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path))
    data = load_data(DataConfig(spec="unpaired:digits[classes=3],digits[classes=8]", image_size=16))
    with pytest.warns(GankitWarning, match="gankit features train"):
        assert TranslationFID().compute(tiny_cyclegan(), data, num_samples=20) == {}
