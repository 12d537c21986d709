"""gankit sample's writer (gankit/sampling.py): bounded batches, streamed to disk."""

import numpy as np
import pytest
import torch

from gankit import api, footprint
from gankit.errors import GankitError
from gankit.sampling import BATCH, check_sample_request, sampling_memory, samples_per_pass, write_samples
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
        if self.device.type != "meta":  # not the dry run that measures a pass's memory
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


@pytest.mark.parametrize("variant", ["gan", "stylegan"])
def test_samples_too_large_for_memory_are_generated_fewer_at_a_time_and_the_same(deploy_run, variant, tmp_path,
                                                                                monkeypatch):
    image_model = api.load(deploy_run(variant))
    options = {"truncation": 0.7} if variant == "stylegan" else {}
    assert samples_per_pass(image_model, 20, options) == 20
    whole = write_samples(image_model, 20, "npy", tmp_path / "whole.npy", seed=5, options=options)

    one = sampling_memory(image_model, 1, options)
    monkeypatch.setattr(footprint, "available_memory", lambda: (2 * one, 8 * one))
    assert 1 <= samples_per_pass(image_model, 20, options) < 20
    pieces = write_samples(image_model, 20, "npy", tmp_path / "pieces.npy", seed=5, options=options)
    # The same seed, the same draws: bit for bit for the GAN; StyleGAN's modulated convolutions
    # round the last bit differently at another batch size (its kernels' blocking), as translate's do.
    if variant == "gan":
        assert np.array_equal(np.load(whole), np.load(pieces))
    else:
        assert np.abs(np.load(whole) - np.load(pieces)).max() < 1e-5

    monkeypatch.setattr(footprint, "available_memory", lambda: (one // 2, 2 * one))
    shape = " x ".join(map(str, image_model.data_shape))
    with pytest.raises(GankitError, match=rf"^drawing one sample of {shape}: about .* of memory needed; this machine "
                                          r"has .*; use a machine or device with more memory$"):
        write_samples(image_model, 20, "npy", tmp_path / "refused.npy", seed=5, options=options)
    assert not (tmp_path / "refused.npy").exists()
