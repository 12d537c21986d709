"""The registry of data specs: ``DataConfig.spec`` strings such as ``digits``,
``toy:ring8``, ``mnist:/data/mnist`` or ``folder:photos/`` are parsed here, resolved
once into a typed spec that owns its options (:mod:`gankit.data.kinds`), and handed
to the loader of their prefix.

    prefix, arg = parse_spec("mnist:/data/mnist")                # ("mnist", "/data/mnist")
    spec = resolve_spec(DataConfig(spec="toy:grid25", spacing=3.0))  # GridSpec(..., spacing=3.0)
    data = load_data(spec)                                        # or load_data(DataConfig(...))
    sorted(SPECS)                                                 # the valid prefixes
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from gankit.config import DataConfig
from gankit.data import protocols
from gankit.data.dataset import Data, DataSpec
from gankit.data.digits import load_digits
from gankit.data.folder import load_folder
from gankit.data.kinds import FolderProtocolSpec, FolderSpec, ImageSetSpec, KnownSetSpec, LabelledProtocolSpec, Spec
from gankit.data.mnist import load_idx_set
from gankit.data.toy import TOY_MIXTURES, load_toy
from gankit.data.unpaired import USAGE as UNPAIRED_USAGE
from gankit.data.unpaired import load_unpaired, resolve_unpaired
from gankit.errors import GankitError


@dataclass(frozen=True)
class Prefix:
    """A spec prefix: how its argument is written, what it resolves to, and its loader."""

    resolve: Callable[[DataSpec, DataConfig], Spec]
    load: Callable[[Any], Data]  # (the Spec that resolve made) -> Data
    argument: Literal["none", "optional", "required"]
    usage: str  # how the spec is written, for error messages
    choices: tuple[str, ...] = ()  # the only valid arguments, when the set is fixed


def _known_set(parsed: DataSpec, config: DataConfig) -> Spec:
    return KnownSetSpec.from_config(config, prefix=parsed.prefix, folder=parsed.argument)


def _folder(parsed: DataSpec, config: DataConfig) -> Spec:
    return FolderSpec.from_config(config, prefix=parsed.prefix, folder=parsed.argument)


def _folder_protocol(parsed: DataSpec, config: DataConfig) -> Spec:
    return FolderProtocolSpec.from_config(config, prefix=parsed.prefix, folder=parsed.argument)


def _toy(parsed: DataSpec, config: DataConfig) -> Spec:
    return TOY_MIXTURES[parsed.argument].spec.from_config(config, prefix=parsed.prefix, mixture=parsed.argument)


SPECS: dict[str, Prefix] = {
    "digits": Prefix(_known_set, load_digits, "none", "digits"),
    "toy": Prefix(_toy, load_toy, "required", " | ".join(f"toy:{name}" for name in TOY_MIXTURES), tuple(TOY_MIXTURES)),
    "mnist": Prefix(_known_set, load_idx_set, "optional", "mnist[:DIR]"),
    "fashion-mnist": Prefix(_known_set, load_idx_set, "optional", "fashion-mnist[:DIR]"),
    "folder": Prefix(_folder, load_folder, "required", "folder:DIR"),
    "unpaired": Prefix(
        lambda parsed, config: resolve_unpaired(parsed.argument, config, resolve_spec),
        lambda spec: load_unpaired(spec, load_data),
        "required",
        UNPAIRED_USAGE,
    ),
    # Anomaly-detection layouts (gankit.data.protocols): load_data gives their normal training images.
    "defects": Prefix(_folder_protocol, lambda spec: protocols.load_protocol_data(spec, load_data), "required", "defects:DIR"),
    "magnetic-tile": Prefix(
        _folder_protocol, lambda spec: protocols.load_protocol_data(spec, load_data), "required", "magnetic-tile:DIR"
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


def resolve_spec(config: DataConfig | Spec) -> Spec:
    """The typed spec that ``config`` describes, with the options its kind owns (the others,
    which a stored config holds at their defaults or as older versions left them, are left
    behind). Class lists on a labelled image set make it a labelled anomaly protocol.
    A spec already resolved is returned as it is."""
    if isinstance(config, Spec):
        return config
    parsed = parse_spec(config.spec)
    spec = SPECS[parsed.prefix].resolve(parsed, config)
    if isinstance(spec, ImageSetSpec) and (config.normal_classes is not None or config.anomaly_classes is not None):
        return LabelledProtocolSpec.from_config(config, prefix=spec.prefix, images=spec)
    return spec


def check_given(config: DataConfig, given: Iterable[str]) -> Spec:
    """``config`` resolved, after refusing the settings named in ``given`` (the data.KEYs the user
    wrote) that its data does not take; one left at its default changes nothing and passes."""
    spec = resolve_spec(config)
    defaults = DataConfig()
    spec.refuse_inapplicable(key for key in given if getattr(config, key) != getattr(defaults, key))
    return spec


def load_data(config: DataConfig | Spec) -> Data:
    """Load the data set that ``config`` (a DataConfig, resolved here, or a resolved spec) names,
    with its split, classes, size and channels."""
    spec = resolve_spec(config)
    if isinstance(spec, LabelledProtocolSpec):  # the protocol's split; its images apply their own options
        return protocols.load_protocol_data(spec, load_data)
    return spec.finish(SPECS[spec.prefix].load(spec))
