"""Two image domains with no pairing, for unpaired translation (CycleGAN): the spec
``unpaired:A,B`` loads each part as its own data set, and the stream batches the
two parts with independent shuffles, so the counts may differ and no example of
A is ever tied to one of B.

    data = load_data(DataConfig(spec="unpaired:photos/summer,photos/winter", image_size=128))
    data = load_data(DataConfig(spec="unpaired:mnist[classes=3],mnist[classes=5]"))
    a, b = next(make_stream(data, 1, seed=0, device=torch.device("cpu")))   # [1, C, H, W] each

A part is a folder (``DIR`` or ``folder:DIR``) or any other data spec, with
optional per-part settings in brackets, separated by ``;``:
``digits[image_size=28],mnist:../shared/data/mnist[classes=0,1,2;split=test]``.
Settings not given in brackets come from the shared ``data`` section (those that mean
nothing for two domains, data.patch_size and the class lists of anomaly protocols, stay
behind); each part is resolved into a spec of its own (a ``TwoDomainSpec`` holds both),
and a bracket setting that the part's kind does not take, or that means nothing for two
domains, is refused.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from gankit.config import DataConfig, from_dict, yaml_scalar
from gankit.data.dataset import Data, DataSpec, TwoDomainData
from gankit.data.kinds import NOT_SHARED, Spec, TwoDomainSpec
from gankit.errors import GankitError

USAGE = "unpaired:A,B (each a folder or a data spec, optionally with [key=value;...])"


def split_parts(argument: str) -> list[str]:
    """The comma-separated parts of ``argument``, ignoring commas inside brackets."""
    parts, depth, current = [], 0, ""
    for char in argument:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def part_config(text: str, shared: DataConfig) -> DataConfig:
    """The DataConfig of one part: ``SPEC[key=value;...]`` over the shared settings."""
    return _part_config(*part_settings(text), shared)


def _part_config(spec: str, options: dict[str, object], shared: DataConfig) -> DataConfig:
    raw = {k: v for k, v in dataclasses.asdict(shared).items() if k != "spec" and k not in NOT_SHARED}
    return from_dict(DataConfig, {**raw, **options, "spec": spec}, "data")


def part_settings(text: str) -> tuple[str, dict[str, object]]:
    """The spec of one part (a plain DIR as ``folder:DIR``) and the settings in its brackets."""
    spec, options = text, {}
    if text.endswith("]") and "[" in text:
        spec, _, inner = text[:-1].partition("[")
        for item in filter(None, (s.strip() for s in inner.split(";"))):
            key, sep, value = item.partition("=")
            if not sep:
                raise GankitError(f"unpaired part {text!r}: expected key=value in brackets, got {item!r}")
            options[key.strip()] = yaml_scalar(value) if value.strip() else None
    spec = spec.strip()
    if not spec:
        raise GankitError(f"unpaired part {text!r} names no data")
    if "spec" in options:
        raise GankitError(f"unpaired part {text!r}: give the spec before the brackets, not as spec=")
    looks_like_path = os.sep in spec or spec.startswith((".", "~")) or os.path.isdir(os.path.expanduser(spec))
    if ":" not in spec and looks_like_path:
        spec = f"folder:{spec}"  # the plain unpaired:DIR_A,DIR_B form
    return spec, options


def domain_configs(argument: str, config: DataConfig) -> tuple[DataConfig, DataConfig]:
    """The DataConfigs of the two domains of ``unpaired:A,B`` (``argument`` is ``A,B``), for a
    caller that reloads one domain with settings of its own (``gankit translate --split``)."""
    a, b = (part_config(text, config) for text in two_parts(argument))
    return a, b


def two_parts(argument: str) -> list[str]:
    texts = split_parts(argument)
    if len(texts) != 2 or not all(texts):
        raise GankitError(f"unpaired data needs exactly two parts, got {len(texts)} in {argument!r}; write {USAGE}")
    return texts


def resolve_unpaired(argument: str, config: DataConfig, resolve: Callable[[DataConfig], Spec]) -> TwoDomainSpec:
    """The spec of ``unpaired:A,B``: each part resolved by ``resolve`` over the shared settings."""
    texts = two_parts(argument)
    parts = []
    for text in texts:
        spec_text, options = part_settings(text)
        if DataSpec.of(spec_text).prefix == "unpaired":
            raise GankitError(f"unpaired parts cannot be unpaired themselves: {text!r}")
        if NOT_SHARED & options.keys():
            key = sorted(NOT_SHARED & options.keys())[0]
            raise GankitError(f"unpaired part {text!r}: data.{key} means nothing for two domains; leave it out")
        part = resolve(_part_config(spec_text, options, config))
        part.refuse_inapplicable(options, where=f"unpaired part {text!r}: ")
        parts.append(part)
    return TwoDomainSpec.from_config(
        config, prefix="unpaired", name=f"unpaired:{texts[0]},{texts[1]}", parts=tuple(parts), paired=False
    )


def load_unpaired(spec: TwoDomainSpec, load_data: Callable[[Spec], Data]) -> TwoDomainData:
    """The two domains of ``unpaired:A,B``; each part is an ordinary spec, loaded by ``load_data``."""
    parts = [load_data(part) for part in spec.parts]
    a, b = parts
    for part in parts:
        if part.kind != "image":
            raise GankitError(f"unpaired translation needs images, but {part.name} holds {part.kind}")
    if a.shape != b.shape:
        raise GankitError(
            f"the two domains differ in shape ({' x '.join(map(str, a.shape))} for {a.name}, "
            f"{' x '.join(map(str, b.shape))} for {b.name}); set data.image_size and data.channels"
        )
    return TwoDomainData(
        name=spec.name, kind="image", shape=a.shape, class_names=[],
        x=None, y=None, source=None, parts=(a, b), paired=spec.paired,
    )
