"""Images handed to the capability APIs (``translate``, ``score_dataset``) as tensors or
numpy arrays: float arrays of any precision are converted; integer pixels, NaN or inf,
and wrong shapes are one-line GankitErrors."""

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.models import MODELS

from tests.conftest import tiny_settings

NAMES = ["cyclegan", "ganomaly"]  # a translator and a detector


def model(name):
    cls = MODELS[name]
    return cls(cls.Config(**tiny_settings(name)), (1, 16, 16))


def call(name):
    m = model(name)
    return (lambda x: m.translate(x, "a2b")) if name == "cyclegan" else (lambda x: m.score_dataset(x).scores)


GOOD = np.random.default_rng(0).uniform(-1, 1, (3, 1, 16, 16))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("x", [GOOD, GOOD.astype(np.float32), GOOD.astype(np.float16), torch.from_numpy(GOOD)],
                         ids=["float64", "float32", "float16", "tensor64"])
def test_float_arrays_are_converted(name, x):
    out = call(name)(x)
    assert out.shape[0] == 3 and out.dtype == torch.float32 and torch.isfinite(out).all()


def with_nan():
    x = GOOD.copy()
    x[0, 0, 3, 3] = np.nan
    x[1, 0, 0, 0] = np.inf
    return x


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "x, message",
    [
        (with_nan(), r"2 NaN or infinite"),
        ((GOOD * 127 + 128).astype(np.uint8), r"float images in \[-1, 1\], got uint8"),
        (np.array([["a"]]), r"numeric images"),
        (GOOD[0], r"\[N, 1, "),
        (np.repeat(GOOD, 3, axis=1), r"got \[3, 3, 16, 16\]"),
        ([[0.0]], r"tensor or numpy array"),
    ],
    ids=["nan", "uint8", "strings", "no-batch", "channels", "list"],
)
def test_bad_arrays_are_one_line_errors(name, x, message):
    with pytest.raises(GankitError, match=message) as caught:
        call(name)(x)
    assert "\n" not in str(caught.value)
