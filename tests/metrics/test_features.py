import pytest
import torch

from gankit.config import DataConfig
from gankit.errors import GankitError
from gankit.metrics.features import get_features
from gankit.metrics.features.cache import cache_dir_for
from gankit.metrics.features.classifier import ClassifierNet, classifier_data_config, load_classifier
from gankit.metrics.features.inception import WEIGHTS_URL, install_inception_weights, load_inception


def test_classifier_is_cached_with_its_accuracy(with_digits_classifier):
    extractor = load_classifier(DataConfig(spec="digits"))
    assert extractor.info["num_classes"] == 10 and 0.5 < extractor.info["test_accuracy"] <= 1.0
    x = torch.rand(5, 1, 16, 16) * 2 - 1
    assert extractor.features(x).shape == (5, 128)
    assert torch.allclose(extractor.probs(x).sum(1), torch.ones(5))
    assert get_features("auto", DataConfig(spec="digits")).name == "classifier"


def test_a_detector_run_gets_the_judge_of_its_whole_data_set(with_digits_classifier):
    """A one-vs-rest protocol's fit part leaves the anomaly classes out; the judge, cached under
    the data set's name, is trained on every class of the plain train split."""
    protocol = DataConfig(spec="digits", anomaly_classes=[0], split="test", classes=[1, 2])
    plain = classifier_data_config(protocol)
    assert (plain.normal_classes, plain.anomaly_classes, plain.classes, plain.split) == (None, None, None, "train")
    assert load_classifier(protocol).info["num_classes"] == 10


def test_cache_key_separates_data_size_and_channels():
    keys = {cache_dir_for("classifier", "mnist:/a", 28, 1), cache_dir_for("classifier", "mnist:/a", 32, 1),
            cache_dir_for("classifier", "mnist:/a", 28, 3), cache_dir_for("classifier", "mnist:/b", 28, 1)}
    assert len(keys) == 4


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_classifier_net_takes_any_size(size):
    assert ClassifierNet(3, 7)(torch.zeros(2, 3, size, size)).shape == (2, 7)


def test_inception_offline_says_what_to_supply(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(GankitError) as error:
        load_inception()
    message = str(error.value)
    assert WEIGHTS_URL in message and "gankit features inception --weights FILE" in message
    assert str(tmp_path / "features" / "inception") in message
    assert get_features("auto", DataConfig(spec="digits")) is None


def test_inception_weights_are_checked_against_the_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_HOME", str(tmp_path))
    fake = tmp_path / "weights.pth"
    fake.write_bytes(b"not the weights")
    with pytest.raises(GankitError, match="SHA-256 starts"):
        install_inception_weights(fake)
    assert not list((tmp_path / "features").rglob("*.pth"))  # nothing unchecked lands in the cache
    with pytest.raises(GankitError, match="not found"):
        install_inception_weights(tmp_path / "missing.pth")
