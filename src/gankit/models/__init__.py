"""The one list of variants: registry key -> model class.

A new variant is one folder here, one line in ``MODELS``, a YAML preset in
``gankit/configs`` when its defaults need one, one test file and one docs page
(docs/DESIGN.md, "Adding a variant"); the loop, the CLI and the generic tests find
it here, and ``build_run_config`` turns a raw config into the variant's typed one.
"""

from __future__ import annotations

from typing import Any

from gankit.config import DataConfig, RunConfig, TrainConfig, from_dict
from gankit.errors import GankitError
from gankit.models.alad.model import ALAD
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
    "alad": ALAD,
}


def get_model_class(name: str) -> type[GANModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise GankitError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}") from None


def build_run_config(raw: dict[str, Any]) -> RunConfig:
    """Turn a raw nested dict into a validated :class:`RunConfig`."""
    unknown = set(raw) - {"model", "data", "train"}
    if unknown:
        raise GankitError(f"unknown config section(s) {sorted(unknown)}; valid: data, model, train")
    model_raw = raw.get("model") or {}
    if not isinstance(model_raw, dict):
        raise GankitError(f"config section 'model' must be a mapping, got {model_raw!r}")
    model_raw = dict(model_raw)
    name = model_raw.pop("name", None)
    if not name:
        raise GankitError("the config names no model (model.name)")
    if not isinstance(name, str):
        raise GankitError(f"model.name must be a model name such as gan, got {name!r}")
    model_class = get_model_class(name)
    return RunConfig(
        model_name=name,
        model=from_dict(model_class.Config, model_raw, "model"),
        data=from_dict(DataConfig, raw.get("data") or {}, "data"),
        train=from_dict(TrainConfig, raw.get("train") or {}, "train"),
    )
