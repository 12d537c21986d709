"""make_config: a preset's data settings belong to its own data set."""

import pytest

from gankit.api import make_config
from gankit.errors import GankitError


@pytest.mark.parametrize("model, spec, size", [
    ("gan", "mnist:/data/mnist", None),        # MNIST's own 28, not the digits preset's size
    ("ganomaly", "magnetic-tile:/data/tile", None),  # folders' 64 (docs/anomaly.md)
    ("stylegan", "mnist", None),
    ("cyclegan", "unpaired:a/,b/", None),
    ("stylegan", None, 32),                    # the preset's own data keeps the preset's size
    ("stylegan", "digits", 32),
])
def test_preset_size_applies_only_to_its_own_data(model, spec, size):
    assert make_config(model, data=spec).data.image_size == size


def test_a_size_the_user_sets_wins():
    config = make_config("gan", data="mnist", overrides=["data.image_size=32"])
    assert config.data.image_size == 32


def test_protocol_classes_carry_over_to_labelled_sets_only():
    assert make_config("ganomaly", data="mnist").data.anomaly_classes == [0]
    assert make_config("ganomaly", data="fashion-mnist:/x").data.anomaly_classes == [0]
    tile = make_config("ganomaly", data="magnetic-tile:/x")
    assert tile.data.anomaly_classes is None and tile.data.normal_classes is None
    assert "anomaly_classes" not in str({k: v for k, v in tile.to_dict()["data"].items() if v is not None})


def test_protocol_classes_the_user_gives_a_folder_protocol_are_refused():
    with pytest.raises(GankitError, match="data.anomaly_classes does not apply to magnetic-tile"):
        make_config("ganomaly", data="magnetic-tile:/x", overrides=["data.anomaly_classes=1"])
