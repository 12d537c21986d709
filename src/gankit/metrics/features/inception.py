"""The ``inception`` feature extractor: the InceptionV3 pool features of published FIDs.

"GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium" (Heusel et al. 2017) defines FID on the 2048-d pool3 features of
the 2015 TensorFlow InceptionV3. torchmetrics runs torch-fidelity's exact port
of that network; we only decide where its weights come from, so that nothing
is downloaded behind the user's back: a cached file, an explicit
``gankit features inception --download``, or a file the user supplies,
always checked against the known hash before it is loaded.

    install_inception_weights(Path("weights-inception-2015-12-05-6726825d.pth"))
    extractor = load_inception()
    features = extractor.features(images)  # [N, 2048]
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.files import file_sha256
from gankit.files import atomic_write
from gankit.metrics.features.cache import features_home
from gankit.metrics.samples import FeatureExtractor

WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_NAME = WEIGHTS_URL.rsplit("/", 1)[1]
# torch.hub's convention: the hex digits after the last '-' of the file name start its SHA-256.
WEIGHTS_SHA256_PREFIX = "6726825d"


def weights_path() -> Path:
    return features_home() / "inception" / WEIGHTS_NAME


def _torch_hub_copy() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME


def check_weights(path: Path) -> Path:
    if not path.is_file():
        raise GankitError(f"InceptionV3 weights file not found: {path}")
    digest = file_sha256(path)
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise GankitError(
            f"{path} is not {WEIGHTS_NAME}: its SHA-256 starts {digest[:8]}, expected {WEIGHTS_SHA256_PREFIX}"
        )
    return path


def install_inception_weights(source: Path | None = None, *, download: bool = False) -> Path:
    """Put checked weights into the cache, from ``source`` or (``download=True``) from the release URL."""
    target = weights_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        check_weights(Path(source))
        with open(source, "rb") as f:
            atomic_write(target, lambda out: shutil.copyfileobj(f, out))
    elif download:
        try:
            torch.hub.download_url_to_file(WEIGHTS_URL, str(target), hash_prefix=WEIGHTS_SHA256_PREFIX)
        except (OSError, RuntimeError) as error:
            raise GankitError(f"could not download {WEIGHTS_URL}: {error}; {how_to_supply()}") from None
    else:
        raise GankitError("give the weights file or download=True")
    return check_weights(target)


def how_to_supply() -> str:
    return (
        f"download {WEIGHTS_URL} on a machine with network access, then run "
        f"'gankit features inception --weights FILE' (it is checked and copied to {weights_path()}); "
        "or run 'gankit features inception --download' where the network is reachable"
    )


def find_weights() -> Path | None:
    """A checked cached copy (gankit's cache first, then torch-fidelity's torch.hub cache)."""
    for path in (weights_path(), _torch_hub_copy()):
        if path.is_file():
            return check_weights(path)
    return None


class InceptionFeatures(FeatureExtractor):
    """InceptionV3 pool3 features of images in [-1, 1] (grey images are repeated to RGB)."""

    name = "inception"
    dim = 2048

    def __init__(self, path: Path) -> None:
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3
        except ImportError:
            raise GankitError("the inception features need torch-fidelity: pip install 'gankit[inception]'") from None
        # The file passed check_weights, so loading it (torch-fidelity uses a full unpickle) is safe.
        self.net = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(path)
        )
        self.info = {"weights": str(path)}

    def to(self, device: torch.device) -> "InceptionFeatures":
        self.net.to(device)
        return self

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # [N, 3, H, W]
        images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self.net(images.to(next(self.net.parameters()).device)).float()  # [N, 2048]


def load_inception() -> InceptionFeatures:
    path = find_weights()
    if path is None:
        raise GankitError(f"the InceptionV3 weights are not cached here; {how_to_supply()}")
    return InceptionFeatures(path)
