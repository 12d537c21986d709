"""LPIPS for projection: the user's VGG16 file is hash-checked and really used."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.files import file_sha256
from gankit.latent import perceptual
from gankit.latent.project import project
from gankit.latent.search import SearchOptions
from tests.latent.conftest import trained_like

pytest.importorskip("lpips")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """VGG16's convolutional trunk with random weights, saved as torchvision saves its state dicts."""
    import torchvision

    torch.manual_seed(0)
    trunk = torchvision.models.vgg16(weights=None).features
    path = tmp_path_factory.mktemp("vgg") / "vgg16-random.pth"
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, path)
    return path, trunk


def test_a_file_that_is_not_torchvisions_vgg16_is_refused(vgg_file, tmp_path):
    with pytest.raises(GankitError, match="is not torchvision's ImageNet VGG16 weights"):
        perceptual.load_lpips(vgg_file[0])
    with pytest.raises(GankitError, match="not found"):
        perceptual.load_lpips(tmp_path / "missing.pth")


@pytest.mark.slow  # long: kept out of the default run (make test-slow)
def test_the_checked_weights_are_the_ones_lpips_uses(vgg_file, monkeypatch):
    path, trunk = vgg_file
    monkeypatch.setattr(perceptual, "VGG16_SHA256_PREFIX", file_sha256(path)[:8])
    metric = perceptual.load_lpips(path)
    loaded = {name.split(".", 1)[1]: p for name, p in metric.net.named_parameters()}  # slice2.5.weight -> 5.weight
    assert loaded and all(torch.equal(p, trunk.state_dict()[k]) for k, p in loaded.items())
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.allclose(perceptual.lpips_distance(metric, x, x), torch.zeros(2))
    assert (perceptual.lpips_distance(metric, x, -x) > 0).all()

    model = trained_like("gan")
    options = SearchOptions(steps=0)
    plain = project(model, x, options=options)
    with_lpips = project(model, x, lpips=metric, options=options)
    expected = plain.loss + perceptual.lpips_distance(metric, plain.images, x)  # images unclamped equal here
    assert torch.allclose(with_lpips.loss, expected, atol=1e-5)
