"""Random training patches (gankit.data.patches): crops are real sub-images, deterministic and resumable."""

import pytest
import torch

from gankit.data.dataset import Data
from gankit.data.patches import PatchStream, patch_data, patch_shape, random_crops
from gankit.data.stream import BatchStream
from gankit.errors import GankitError


def images(n=12, size=20):
    x = torch.arange(n * size * size, dtype=torch.float32).view(n, 1, size, size)
    return Data(name="ramp", kind="image", shape=(1, size, size), class_names=[], x=x, y=None, source=None)


def test_crops_are_windows_of_their_own_image():
    x = torch.randn(5, 3, 20, 24)
    crops = random_crops(x, 8, torch.Generator().manual_seed(0))
    assert crops.shape == (5, 3, 8, 8)
    for image, crop in zip(x, crops):
        windows = image.unfold(1, 8, 1).unfold(2, 8, 1)  # [C, 13, 17, 8, 8]
        assert (windows == crop[:, None, None]).all(0).all(-1).all(-1).any()


def test_patch_stream_is_deterministic_and_resumes_exactly():
    data = images()
    make = lambda: PatchStream(BatchStream(data, 4, seed=3, device=torch.device("cpu")), 8, seed=3)  # noqa: E731
    first, second = make(), make()
    batches = [next(first)[0] for _ in range(5)]
    assert all(torch.equal(a, next(second)[0]) for a in batches)
    resumed = make()
    replay = make()
    for _ in range(3):
        next(replay)
    resumed.load_state_dict(replay.state_dict())
    assert torch.equal(next(resumed)[0], batches[3])
    assert not torch.equal(batches[0], batches[3])


def test_patch_shape_and_eval_patches():
    assert patch_shape((3, 64, 64), 16) == (3, 16, 16)
    assert patch_shape((3, 64, 64), None) == (3, 64, 64)
    with pytest.raises(GankitError, match="larger than the images"):
        patch_shape((1, 16, 16), 32)
    assert patch_data(images(), 8, seed=0).x.shape == (12, 1, 8, 8)
