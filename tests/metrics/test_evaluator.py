import pytest
import torch

from tests.conftest import tiny_overrides
from gankit import api
from gankit.data import load_data
from gankit.errors import GankitError
from gankit.metrics.evaluator import Evaluator
from gankit.training.loop import build_model

IMAGE_METRICS = ["fid", "kid", "pr", "cls"]


def untrained(model="gan", data="digits"):
    config = api.make_config(model, data=data, overrides=tiny_overrides(data))
    data = load_data(config.data)
    torch.manual_seed(0)
    return config, data, build_model(config, data.shape)


def test_every_score_has_its_floor_and_the_floor_is_better(with_digits_classifier):
    config, data, model = untrained()
    evaluator = Evaluator(data, config.data, model, IMAGE_METRICS, num_samples=200, features="classifier")
    values = evaluator(model)
    scores = [k for k in values if not k.endswith("_floor")]
    assert set(scores) == {"fid", "kid_mean", "kid_std", "precision", "recall", "cls_confident", "cls_tv", "cls_classes"}
    assert all(f"{k}_floor" in values for k in scores)
    # An untrained generator makes noise; two halves of the real data are alike.
    assert values["fid"] > 5 * values["fid_floor"]
    assert values["precision"] < values["precision_floor"]
    assert values["kid_std"] > 0
    assert evaluator.record(0, values)["features"] == "classifier"


def test_real_side_is_computed_once_and_calls_repeat(with_digits_classifier):
    config, data, model = untrained()
    evaluator = Evaluator(data, config.data, model, ["fid"], num_samples=100, features="classifier")
    first = evaluator(model)
    floor = evaluator._floor
    assert evaluator(model) == first and evaluator._floor is floor


def test_sample_count_is_capped_at_half_the_data(with_digits_classifier):
    config, data, model = untrained()
    evaluator = Evaluator(data, config.data, model, ["fid"], num_samples=10**6, features="classifier")
    assert evaluator.num_samples == len(data) // 2


def test_feature_metrics_without_features(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    config, data, model = untrained()
    with pytest.raises(GankitError, match="gankit features train --data digits"):
        Evaluator(data, config.data, model, ["fid"], features="auto")
    with pytest.raises(GankitError, match="no trained classifier.*gankit features train --data digits --size 16"):
        Evaluator(data, config.data, model, ["fid"], features="classifier")
    # The default set keeps only what runs offline without features: nothing, for digits.
    assert Evaluator(data, config.data, model, features="auto").metrics == {}


def test_metrics_that_do_not_apply_are_errors(with_digits_classifier):
    config, data, model = untrained()
    with pytest.raises(GankitError, match="'modes' does not apply"):
        Evaluator(data, config.data, model, ["modes"])
    with pytest.raises(GankitError, match="unknown metric 'fidd'"):
        Evaluator(data, config.data, model, ["fidd"])


def test_toy_modes_have_a_floor():
    config, data, model = untrained(data="toy:ring8")
    values = Evaluator(data, config.data, model, num_samples=200)(model)
    assert values["modes_captured_floor"] == 8 and values["high_quality_floor"] > 0.95
