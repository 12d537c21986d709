"""gankit sample's writer (gankit/sampling.py): bounded batches, streamed to disk."""

import numpy as np
import pytest
import torch

from gankit import api
from gankit.errors import GankitError
from gankit.sampling import BATCH, check_sample_request, write_samples
from gankit.training.loop import Trainer
from tests.conftest import tiny_overrides


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    run = tmp_path_factory.mktemp("sampling") / "run"
    config = api.make_config("gan", data="toy:ring8", overrides=tiny_overrides(**{"train.eval_samples": 100}), steps=2)
    Trainer(config, run).fit()
    return api.load(run)


def test_npy_streams_in_bounded_batches(model, tmp_path, monkeypatch):
    sizes = []
    real = type(model).sample

    def counting(self, n, **options):
        sizes.append(n)
        return real(self, n, **options)

    monkeypatch.setattr(type(model), "sample", counting)
    out = write_samples(model, 2 * BATCH + 10, "npy", tmp_path / "s.npy", seed=3, options={})
    assert sizes == [BATCH, BATCH, 10]
    array = np.load(out)
    assert array.shape == (2 * BATCH + 10, 2) and array.dtype == np.float32
    first = real(model, BATCH, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(array[:BATCH], first.numpy())  # the same draws as one call would make


def test_sizes_that_cannot_fit_are_refused_before_drawing(tmp_path):
    with pytest.raises(GankitError, match=r"a grid of 100000000000 samples: about .* of memory needed; this machine "
                                          r"has .*; use --format npy or --format folder"):
        check_sample_request((2,), 10**11, "png", tmp_path / "g.png")
    with pytest.raises(GankitError, match=r"of disk needed"):
        check_sample_request((3, 64, 64), 10**12, "npy", tmp_path / "s.npy")
    check_sample_request((2,), 10**6, "npy", tmp_path / "s.npy")  # a million points stream: fine


def test_points_are_not_written_as_a_folder_of_images(model, tmp_path):
    with pytest.raises(GankitError, match="this model makes points"):
        write_samples(model, 4, "folder", tmp_path / "f", seed=0, options={})
    assert not (tmp_path / "f").exists()


def test_a_failed_write_leaves_no_partial_array(model, tmp_path, file_size_limit):
    file_size_limit(4096)
    try:
        with pytest.raises(GankitError, match=r"could not write .*s\.npy: File too large; nothing was written"):
            write_samples(model, 5000, "npy", tmp_path / "s.npy", seed=0, options={})
    finally:
        file_size_limit(2**62)
    assert list(tmp_path.iterdir()) == []
