import pytest

from gankit.config import DataConfig, TrainConfig, apply_overrides, from_dict
from gankit.models import build_run_config
from gankit.errors import GankitError
from gankit.models.gan.model import GANConfig


def test_overrides_parse_yaml_scalars_and_nest():
    raw = apply_overrides({}, ["train.steps=10", "model.betas=[0.0, 0.9]", "data.spec=toy:ring8", "model.name=gan"])
    assert raw == {"train": {"steps": 10}, "model": {"betas": [0.0, 0.9], "name": "gan"}, "data": {"spec": "toy:ring8"}}
    config = build_run_config(raw)
    assert config.train.steps == 10 and config.model.betas == (0.0, 0.9) and config.data.spec == "toy:ring8"


def test_unknown_key_lists_valid_keys():
    with pytest.raises(GankitError, match=r"unknown key train\.stepz; valid keys: .*steps"):
        build_run_config({"model": {"name": "gan"}, "train": {"stepz": 3}})


def test_unknown_section_and_model():
    with pytest.raises(GankitError, match="unknown config section"):
        build_run_config({"model": {"name": "gan"}, "optim": {}})
    with pytest.raises(GankitError, match="valid models: gan, wgan, wgan_gp"):
        build_run_config({"model": {"name": "dcgan"}})


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"batch_size": "big", "steps": 1}, "train.batch_size must be an integer"),
        ({"batch_size": -4, "steps": 1}, "train.batch_size must be > 0"),
        ({"steps": 1.5}, "train.steps must be an integer"),
        ({"progress": "yes", "steps": 1}, "train.progress must be true or false"),
        ({}, "set a training budget"),
    ],
)
def test_train_config_validation(raw, message):
    with pytest.raises(GankitError, match=message):
        from_dict(TrainConfig, raw, "train")


def test_literal_and_list_fields():
    assert from_dict(DataConfig, {"classes": "3,5"}, "data").classes == [3, 5]
    assert from_dict(DataConfig, {"classes": [1]}, "data").classes == [1]
    with pytest.raises(GankitError, match="data.split must be one of train, test"):
        from_dict(DataConfig, {"split": "val"}, "data")
    with pytest.raises(GankitError, match="model.loss must be one of"):
        from_dict(GANConfig, {"loss": "wasserstein"}, "model")
    with pytest.raises(GankitError, match="model.betas needs 2 values"):
        from_dict(GANConfig, {"betas": [0.5]}, "model")


def test_exponent_without_a_dot_is_a_number():
    # YAML 1.1 reads 5e-4 as a string; users write it that way on the command line.
    config = build_run_config(apply_overrides({"model": {"name": "wgan"}}, ["model.lr=5e-4", "train.steps=1"]))
    assert config.model.lr == 5e-4
    with pytest.raises(GankitError, match="model.lr must be a number"):
        build_run_config({"model": {"name": "wgan", "lr": "fast"}, "train": {"steps": 1}})


def test_bad_override_syntax():
    with pytest.raises(GankitError, match="section.key=value"):
        apply_overrides({}, ["steps"])
    with pytest.raises(GankitError, match="is not a section"):
        apply_overrides({"train": 3}, ["train.steps=1"])


def test_round_trip_through_dict():
    config = build_run_config({"model": {"name": "wgan_gp", "lr": 1e-3}, "train": {"minutes": 1.0}})
    again = build_run_config(config.to_dict())
    assert again == config


def test_packaged_presets_hold_only_what_differs_from_the_dataclass_defaults():
    import dataclasses

    from gankit.config import default_config_path, load_yaml
    from gankit.models import MODELS

    for name, cls in MODELS.items():
        raw = load_yaml(default_config_path(name))
        for section, config_class in (("model", cls.Config), ("data", DataConfig), ("train", TrainConfig)):
            defaults = {f.name: f.default for f in dataclasses.fields(config_class)}
            for key, value in (raw.get(section) or {}).items():
                default = defaults[key]
                assert value != (list(default) if isinstance(default, tuple) else default), (
                    f"{name}.yaml restates the default {section}.{key}={value!r}: one owner per default"
                )
