"""The one list of variants: registry key -> model class.

A new variant is one folder here, one line in ``MODELS``, one YAML in
``gankit/configs`` and one test file; the loop and the CLI find it here.
"""

from __future__ import annotations

from gankit.errors import GankitError
from gankit.models.anogan.model import AnoGAN
from gankit.models.base import GANModel
from gankit.models.cyclegan.model import CycleGAN
from gankit.models.egbad.model import EGBAD
from gankit.models.fanogan.model import FAnoGAN
from gankit.models.gan.model import GAN
from gankit.models.ganomaly.model import GANomaly
from gankit.models.stylegan.model import StyleGAN
from gankit.models.wgan.model import WGAN
from gankit.models.wgan_gp.model import WGANGP

MODELS: dict[str, type[GANModel]] = {
    "gan": GAN,
    "wgan": WGAN,
    "wgan_gp": WGANGP,
    "stylegan": StyleGAN,
    "cyclegan": CycleGAN,
    "anogan": AnoGAN,
    "egbad": EGBAD,
    "ganomaly": GANomaly,
    "fanogan": FAnoGAN,
}


def get_model_class(name: str) -> type[GANModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise GankitError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}") from None
