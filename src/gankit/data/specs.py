"""The registry of data specs: ``DataConfig.spec`` strings such as ``digits``,
``toy:ring8``, ``mnist:/data/mnist`` or ``folder:photos/`` are parsed here and
handed to the loader of their prefix.

    prefix, arg = parse_spec("mnist:/data/mnist")   # ("mnist", "/data/mnist")
    data = load_data(DataConfig(spec="toy:grid25"))
    sorted(SPECS)                                   # the valid prefixes
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from gankit.config import DataConfig
from gankit.data import protocols
from gankit.data.dataset import Data, DataSpec, fit_in_box, keep_random
from gankit.data.digits import load_digits
from gankit.data.folder import load_folder
from gankit.data.mnist import load_idx_set
from gankit.data.toy import TOY_MIXTURES, load_toy
from gankit.data.unpaired import USAGE as UNPAIRED_USAGE
from gankit.data.unpaired import load_unpaired
from gankit.errors import GankitError


@dataclass(frozen=True)
class Spec:
    load: Callable[[str | None, DataConfig], Data]  # (argument after "prefix:", config) -> Data
    argument: Literal["none", "optional", "required"]
    usage: str  # how the spec is written, for error messages
    choices: tuple[str, ...] = ()  # the only valid arguments, when the set is fixed


SPECS: dict[str, Spec] = {
    "digits": Spec(load_digits, "none", "digits"),
    "toy": Spec(load_toy, "required", " | ".join(f"toy:{name}" for name in TOY_MIXTURES), tuple(TOY_MIXTURES)),
    "mnist": Spec(partial(load_idx_set, "mnist"), "optional", "mnist[:DIR]"),
    "fashion-mnist": Spec(partial(load_idx_set, "fashion-mnist"), "optional", "fashion-mnist[:DIR]"),
    "folder": Spec(load_folder, "required", "folder:DIR"),
    "unpaired": Spec(lambda argument, config: load_unpaired(argument, config, load_data), "required", UNPAIRED_USAGE),
    # Anomaly-detection layouts (gankit.data.protocols): load_data gives their normal training images.
    "defects": Spec(lambda _arg, config: protocols.load_protocol_data(config, load_data), "required", "defects:DIR"),
    "magnetic-tile": Spec(
        lambda _arg, config: protocols.load_protocol_data(config, load_data), "required", "magnetic-tile:DIR"
    ),
}


def valid_specs() -> str:
    return ", ".join(spec.usage for spec in SPECS.values())


def parse_spec(text: str) -> DataSpec:
    """(prefix, argument) of a spec string; GankitError when it names no valid spec."""
    prefix, argument = DataSpec.of(text)
    colon = ":" in text
    if prefix not in SPECS:
        raise GankitError(f"unknown data spec {text!r}; valid: {valid_specs()}")
    spec = SPECS[prefix]
    if colon and not argument:
        raise GankitError(f"data spec {text!r} has nothing after ':'; write {spec.usage}")
    if spec.argument == "none" and colon:
        raise GankitError(f"data spec {prefix} takes no argument, got {text!r}; write {spec.usage}")
    if spec.argument == "required" and not colon:
        raise GankitError(f"data spec {prefix} needs an argument; write {spec.usage}")
    if spec.choices and argument not in spec.choices:
        raise GankitError(f"unknown {prefix} data set {argument!r}; valid: {spec.usage}")
    return DataSpec(prefix, argument)


def load_data(config: DataConfig) -> Data:
    """Load the data set that ``config.spec`` names, with the config's split, classes, size and channels."""
    prefix, argument = parse_spec(config.spec)
    if protocols.is_labelled_protocol(config):  # normal_classes / anomaly_classes: the protocol's split
        data = protocols.load_protocol_data(config, load_data)
    else:
        data = SPECS[prefix].load(argument, config)
    if config.limit is not None:
        data = keep_random(data, config.limit, config.seed)
    return fit_in_box(data, config.box) if config.box is not None else data
