"""Damaged checkpoint files (hypothesis flips, cuts and splices bytes of a real one): the one
loader answers each with the model or one CheckpointError line, never another exception."""

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit import api
from gankit.errors import GankitError
from gankit.training.checkpoint import CheckpointError, load_checkpoint

RUN = Path(__file__).parent / "fixtures" / "format-2" / "gan"
ORIGINAL = next((RUN / "checkpoints").glob("step-*.pt")).read_bytes()


@st.composite
def damaged(draw):
    data = bytearray(ORIGINAL)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "zero"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + 64] = bytes(min(64, len(data) - at))
        if not data:
            break
    return bytes(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    copy = tmp_path_factory.mktemp("fuzz") / "gan"
    shutil.copytree(RUN, copy)
    return copy


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=damaged())
def test_damaged_files_are_loaded_or_refused_in_one_line(run, data):
    path = next((run / "checkpoints").glob("step-*.pt"))
    path.write_bytes(data)
    try:
        load_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
    try:
        api.load(run, checkpoint=path)  # the whole way: config, model, weights
    except GankitError as error:
        assert "\n" not in str(error)
