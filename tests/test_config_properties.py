"""Property-based tests of the config parser: YAML text, ``--set`` overrides and typed
conversion never raise anything but GankitError, and every config that builds survives
the round trip through ``to_dict`` (what RUN/config.yaml and checkpoints store)."""

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gankit.config import apply_overrides, load_yaml
from gankit.models import build_run_config
from gankit.errors import GankitError
from gankit.models import MODELS

SECTIONS = {"model", "data", "train"}
KEYS = sorted({"name", "spec", "image_size", "channels", "classes", "split", "batch_size", "steps", "epochs",
               "minutes", "seed", "device", "lr", "lr_g", "betas", "latent_dim", "g_width", "loss", "keep_checkpoints",
               "eval_metrics", "in_memory", "toy_samples", "critic_steps", "gp_weight", "normal_classes"})
scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(list(MODELS)) | st.sampled_from(["digits", "toy:ring8", "cpu"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
                      max_leaves=4)
sections = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=5)
raw_configs = st.dictionaries(st.sampled_from(sorted(SECTIONS)) | st.text(max_size=6), sections | values, max_size=4)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(raw):
    try:
        return build_run_config(raw)
    except GankitError:
        return None


@FAST
@given(raw_configs, st.sampled_from(list(MODELS)))
@example({"model": 1}, "gan")  # found by hypothesis: a TypeError before the fix
@example({"model": {"name": [None]}}, "gan")  # found by hypothesis: unhashable model name
def test_any_raw_config_builds_or_raises_gankit_error(raw, name):
    if isinstance(raw.get("model"), dict):
        raw["model"].setdefault("name", name)
    config = build(raw)
    if config is not None:
        assert build_run_config(config.to_dict()) == config


@FAST
@given(st.lists(st.text(max_size=30) | st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
    [f"{s}.{k}" for s in sorted(SECTIONS) for k in KEYS]), st.text(max_size=12)), max_size=4), st.sampled_from(list(MODELS)))
def test_any_override_strings_apply_or_raise_gankit_error(overrides, name):
    raw = {"model": {"name": name}, "train": {"steps": 10}}
    try:
        apply_overrides(raw, overrides)
    except GankitError:
        return
    config = build(raw)
    if config is not None:
        assert build_run_config(config.to_dict()) == config


@FAST
@given(st.text(max_size=200) | raw_configs.map(lambda raw: yaml.safe_dump(raw, allow_unicode=True)))
def test_any_yaml_file_loads_or_raises_gankit_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        raw = load_yaml(path)
    except GankitError:
        return
    build(raw)
