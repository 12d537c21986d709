"""benchmarks/latent.py measures on a data set's plain splits, whatever protocol the run trained on."""

from types import SimpleNamespace

from benchmarks.latent import run_data
from gankit.config import DataConfig


def test_a_detector_run_is_measured_on_the_plain_split_with_every_class():
    trained = DataConfig(spec="fashion-mnist:/data", image_size=28, anomaly_classes=[0], classes=None)
    model = SimpleNamespace(run_config=SimpleNamespace(data=trained), data_shape=(1, 32, 32))
    for split in ("train", "test"):
        config = run_data(model, None, split)
        assert (config.split, config.normal_classes, config.anomaly_classes) == (split, None, None)
        assert (config.image_size, config.channels, config.spec) == (32, 1, "fashion-mnist:/data")
    assert run_data(model, "fashion-mnist:/elsewhere", "test").spec == "fashion-mnist:/elsewhere"
