"""Spec objects (gankit.data.kinds): a DataConfig resolves once into the kind of data it names,
which holds only the options that kind takes; a setting the user gives that the kind does
not take is one line; stored configs (every field, defaults included) still load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.api import make_config
from gankit.cli import main
from gankit.config import DataConfig, load_yaml
from gankit.data import load_data, resolve_spec
from gankit.data.anomaly import load_anomaly
from gankit.data.kinds import (
    FolderProtocolSpec, FolderSpec, GridSpec, KnownSetSpec, LabelledProtocolSpec, ProtocolSpec, RingSpec,
    TwoDomainSpec,
)
from gankit.data.specs import check_given
from gankit.errors import GankitError
from gankit.models import build_run_config

FIXTURES = Path(__file__).resolve().parents[1] / "training" / "fixtures"


@pytest.mark.parametrize(("text", "kind"), [
    ("digits", KnownSetSpec),
    ("mnist:/data/mnist", KnownSetSpec),
    ("fashion-mnist", KnownSetSpec),
    ("folder:/photos", FolderSpec),
    ("toy:ring8", RingSpec),
    ("toy:grid25", GridSpec),
    ("defects:/tiles", FolderProtocolSpec),
    ("magnetic-tile:/tiles", FolderProtocolSpec),
    ("unpaired:digits,/photos", TwoDomainSpec),
])
def test_each_kind_resolves(text, kind):
    assert type(resolve_spec(DataConfig(spec=text))) is kind


def test_a_kind_holds_only_its_own_options():
    ring = resolve_spec(DataConfig(spec="toy:ring8", radius=3.0, spacing=5.0, image_size=32, toy_samples=10))
    assert (ring.radius, ring.toy_samples, ring.mixture) == (3.0, 10, "ring8")
    assert not hasattr(ring, "spacing") and not hasattr(ring, "image_size")
    assert resolve_spec(DataConfig(spec="toy:grid25", spacing=5.0)).spacing == 5.0
    folder = resolve_spec(DataConfig(spec="folder:/photos", in_memory="never", num_workers=0, image_size=32))
    assert (folder.folder, folder.in_memory, folder.num_workers, folder.image_size) == ("/photos", "never", 0, 32)
    mnist = resolve_spec(DataConfig(spec="mnist:/data", radius=3.0))
    assert mnist.folder == "/data" and not mnist.owns("radius") and not mnist.owns("num_workers")
    assert RingSpec.option_names() == ("split", "seed", "limit", "std", "toy_samples", "classes", "radius")


def test_class_lists_make_a_labelled_protocol_of_a_labelled_set():
    spec = resolve_spec(DataConfig(spec="digits", anomaly_classes=[3], image_size=28, box=20))
    assert isinstance(spec, LabelledProtocolSpec) and isinstance(spec, ProtocolSpec)
    assert spec.anomaly_classes == [3] and spec.images == resolve_spec(DataConfig(spec="digits", image_size=28, box=20))
    assert spec.owns("image_size") and spec.owns("anomaly_classes") and not spec.owns("radius")
    with pytest.raises(GankitError, match="data.classes cannot be combined with data.normal_classes"):
        resolve_spec(DataConfig(spec="digits", classes=[1], normal_classes=[1]))


def test_the_labelled_protocol_applies_its_sets_options_once():
    config = DataConfig(spec="digits", image_size=28, box=20, anomaly_classes=[3])
    assert torch.equal(load_data(config).x, load_anomaly(config, "fit").data.x)  # the fit part, boxed once


def test_folder_protocols_and_two_domains_take_no_class_lists():
    tiles = resolve_spec(DataConfig(spec="magnetic-tile:/x", anomaly_classes=[0], classes=[1]))
    assert type(tiles) is FolderProtocolSpec and not tiles.owns("anomaly_classes") and not tiles.owns("classes")
    pair = resolve_spec(DataConfig(spec="unpaired:digits,digits", image_size=8, anomaly_classes=[0], patch_size=4))
    assert pair.owns("image_size") and not pair.owns("patch_size") and not pair.owns("anomaly_classes")
    assert [type(part) for part in pair.parts] == [KnownSetSpec, KnownSetSpec]  # no protocol in the parts
    assert all(part.image_size == 8 and part.patch_size is None for part in pair.parts)


def test_shared_limit_and_box_go_to_the_two_domains():
    data = load_data(DataConfig(spec="unpaired:digits[classes=3],digits[classes=8]", image_size=28, box=20, limit=30))
    assert [len(part) for part in data.parts] == [30, 30]
    assert all(part.name.endswith("[box=20]") for part in data.parts)


def test_a_loader_gets_the_resolved_spec():
    config = DataConfig(spec="toy:ring8", toy_samples=100, seed=3)
    assert torch.equal(load_data(resolve_spec(config)).x, load_data(config).x)


@pytest.mark.parametrize(("text", "given", "message"), [
    ("mnist", {"radius": 3.0}, "data.radius does not apply to mnist, which is a labelled image set held in memory; "
                               "leave it out"),
    ("toy:ring8", {"spacing": 3.0}, "data.spacing does not apply to toy:ring8, which holds 2-D points"),
    ("toy:grid25", {"image_size": 32, "channels": 3}, "data.image_size, data.channels do not apply to toy:grid25, "
                                                       "which holds 2-D points; leave them out"),
    ("digits", {"num_workers": 0}, "data.num_workers does not apply to digits"),
    ("defects:/x", {"classes": [1]}, "data.classes does not apply to defects:/x, which defines its own normal"),
    ("unpaired:digits,digits", {"patch_size": 4}, "data.patch_size does not apply to unpaired:digits,digits, which "
                                                  "holds two image domains"),
])
def test_settings_of_another_kind_are_refused_in_one_line(text, given, message):
    with pytest.raises(GankitError, match=message.replace("[", r"\[")) as error:
        check_given(DataConfig(spec=text, **given), given)
    assert "\n" not in str(error.value)


def test_given_settings_that_apply_or_stay_at_their_default_pass():
    assert check_given(DataConfig(spec="mnist", radius=2.0, image_size=32), ["radius", "image_size"]).image_size == 32
    assert check_given(DataConfig(spec="folder:/x", num_workers=0), ["num_workers"]).num_workers == 0


def test_a_bracket_setting_of_another_kind_is_refused():
    with pytest.raises(GankitError, match=r"unpaired part 'digits\[radius=3\]': data.radius does not apply to digits"):
        resolve_spec(DataConfig(spec="unpaired:digits[radius=3],digits"))
    with pytest.raises(GankitError, match="data.patch_size means nothing for two domains"):
        resolve_spec(DataConfig(spec="unpaired:digits,digits[patch_size=4]"))


def test_the_user_facing_entry_points_refuse_them():
    with pytest.raises(GankitError, match="data.image_size does not apply to toy:ring8"):
        make_config("gan", data="toy:ring8", overrides=["data.image_size=32"])
    with pytest.raises(GankitError, match="data.toy_samples does not apply to digits"):
        make_config("gan", overrides=["data.toy_samples=10"])
    assert make_config("gan", data="toy:ring8", overrides=["data.radius=3"]).data.radius == 3.0
    assert make_config("ganomaly", data="folder:/x").data.anomaly_classes is None  # folders may have no classes
    assert main(["data", "toy:ring8", "--size", "32"]) == 2


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("format-*/*/config.yaml")), ids=lambda p: p.parent.name
                         + "-" + p.parents[1].name)
def test_stored_configs_resolve(fixture):
    """A run's config.yaml holds every data field, defaults included (and format 2's toy run an
    image size that older versions ignored): resolution leaves what does not apply behind."""
    config = build_run_config(load_yaml(fixture)).data
    spec = resolve_spec(config)
    if config.spec == "toy:ring8":
        assert type(spec) is RingSpec and spec.toy_samples == 512 and not spec.owns("image_size")
    else:
        assert type(spec) is LabelledProtocolSpec and spec.anomaly_classes == [0] and spec.images.image_size == 16


def test_a_stored_folder_protocol_with_class_lists_resolves():
    """Before class lists were dropped for folder protocols, a preset's anomaly_classes went into their runs."""
    stored = build_run_config({"model": {"name": "ganomaly"}, "data": {"spec": "defects:/x", "anomaly_classes": [0]},
                               "train": {"steps": 1}})
    assert type(resolve_spec(stored.data)) is FolderProtocolSpec
