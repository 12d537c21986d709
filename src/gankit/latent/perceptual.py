"""LPIPS, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric" (Zhang et al.
2018), the distance StyleGAN2's projector minimises, for ``gankit project --lpips FILE``. The
calibrated linear layers come with the ``lpips`` package (``pip install 'gankit[lpips]'``); the
VGG16 ImageNet weights behind them are not shipped with anything installable, so the user supplies
torchvision's file (vgg16-397923af.pth), checked as torchvision checks it: its SHA-256 must begin
with the 8 hex digits in its name. Nothing is downloaded.

    distance = load_lpips("vgg16-397923af.pth")      # raises a one-line GankitError otherwise
    d = lpips_distance(distance, x, y)               # [N], images [N, C, H, W] in [-1, 1]
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.files import file_sha256

VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16
VGG16_SHA256_PREFIX = "397923af"


def load_lpips(path: str | Path) -> nn.Module:
    """LPIPS-VGG with the VGG16 weights of ``path``, in eval mode without parameter gradients."""
    path = Path(path)
    try:
        import lpips
        import torchvision
    except ImportError:
        raise GankitError("--lpips needs the lpips package: pip install 'gankit[lpips]'") from None
    if not path.is_file():
        raise GankitError(f"LPIPS weights file not found: {path} (torchvision's {VGG16_FILE})")
    digest = file_sha256(path)
    if not digest.startswith(VGG16_SHA256_PREFIX):
        raise GankitError(f"{path} is not torchvision's ImageNet VGG16 weights ({VGG16_FILE}): its SHA-256 begins "
                          f"{digest[:8]}, not {VGG16_SHA256_PREFIX}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        vgg = torchvision.models.vgg16(weights=None)
        # Only the convolutional trunk feeds LPIPS; a file without the classifier is enough.
        vgg.features.load_state_dict({k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")})
    except Exception as error:  # a pickle that is no state dict, or one of another network
        raise GankitError(f"{path} holds no VGG16 weights ({str(error).splitlines()[0]})") from None
    with warnings.catch_warnings():  # the package builds its VGG with torchvision's deprecated `pretrained=False`
        warnings.simplefilter("ignore", UserWarning)
        metric = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)  # its linear layers: the package's own file
    for block in metric.net.children():  # slice1..slice5 name their layers by VGG16 feature index
        for index, layer in block.named_children():
            layer.load_state_dict(vgg.features[int(index)].state_dict())
    return metric.eval().requires_grad_(False)


def lpips_distance(metric: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """[N] LPIPS between images in [-1, 1]; grey images are repeated to RGB, as VGG needs."""
    if x.shape[1] == 1:
        x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
    return metric(x, y).flatten()
