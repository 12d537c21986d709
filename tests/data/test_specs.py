"""The spec parser and registry: every malformed spec is a one-line GankitError."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gankit.config import DataConfig
from gankit.data import SPECS, load_data, parse_spec, resolve_spec
from gankit.data.anomaly import load_anomaly
from gankit.data.dataset import DataSpec
from gankit.data.kinds import FolderProtocolSpec, ProtocolSpec
from gankit.errors import GankitError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digits", ("digits", None)),
        ("  Digits ", ("digits", None)),
        ("toy:ring8", ("toy", "ring8")),
        ("toy:grid25", ("toy", "grid25")),
        ("mnist", ("mnist", None)),
        ("mnist:/data/mnist", ("mnist", "/data/mnist")),
        ("fashion-mnist:data dir", ("fashion-mnist", "data dir")),
        ("folder:C:\\photos", ("folder", "C:\\photos")),  # only the first ':' separates
    ],
)
def test_parse_valid_specs(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_spec(text) == expected
    assert parse_spec(text) == DataSpec.of(text)  # the one split, with its validation on top


def test_protocols_split_specs_as_the_parser_does() -> None:
    assert DataSpec.of(" Defects : /tiles ") == ("defects", "/tiles")
    assert isinstance(resolve_spec(DataConfig(spec=" MAGNETIC-TILE:x")), FolderProtocolSpec)
    assert not isinstance(resolve_spec(DataConfig(spec="mnist")), ProtocolSpec)
    with pytest.raises(GankitError, match="has nothing after ':'; write defects:DIR"):
        load_anomaly(DataConfig(spec="defects: "), "test")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cifar10", "unknown data spec 'cifar10'; valid: digits, toy:ring8 | toy:grid25, mnist[:DIR]"),
        ("", "unknown data spec ''"),
        ("mnist:", "has nothing after ':'; write mnist[:DIR]"),
        ("folder:  ", "has nothing after ':'; write folder:DIR"),
        ("digits:extra", "data spec digits takes no argument"),
        ("folder", "data spec folder needs an argument; write folder:DIR"),
        ("toy", "data spec toy needs an argument; write toy:ring8 | toy:grid25"),
        ("toy:ring9", "unknown toy data set 'ring9'; valid: toy:ring8 | toy:grid25"),
    ],
)
def test_bad_specs_raise_one_line(text: str, message: str) -> None:
    with pytest.raises(GankitError, match=re.escape(message)) as error:
        load_data(DataConfig(spec=text))
    assert "\n" not in str(error.value)


def test_unknown_spec_lists_every_prefix() -> None:
    with pytest.raises(GankitError) as error:
        parse_spec("nope")
    for prefix in SPECS:
        assert prefix in str(error.value)


@given(st.text(max_size=40))
def test_parser_raises_only_gankit_errors(text: str) -> None:
    try:
        prefix, argument = parse_spec(text)
    except GankitError as error:
        assert "\n" not in str(error)  # specs are quoted with repr()
    else:
        assert prefix in SPECS
        assert argument is None or argument == argument.strip() != ""


@given(st.sampled_from(["mnist", "fashion-mnist", "folder"]), st.text(min_size=1).map(str.strip).filter(bool))
def test_parser_round_trips_arguments(prefix: str, argument: str) -> None:
    assert parse_spec(f"{prefix}:{argument}") == (prefix, argument)
