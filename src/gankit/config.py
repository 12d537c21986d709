"""Typed run configuration: dataclasses, YAML files and ``--set`` overrides.

A run is described by a :class:`RunConfig` with three shared sections
(``data``, ``train``) and one variant section (``model``) whose dataclass is
owned by the variant (``MODELS[name].Config``). Raw dictionaries from YAML or
the command line are converted field by field, so an unknown key or a wrong
type is an error that names the valid choices.

    raw = load_yaml("configs/gan.yaml")
    apply_overrides(raw, ["train.steps=200", "model.latent_dim=32"])
    config = build_run_config(raw)      # gankit.models: the registry knows each variant's dataclass
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from gankit.errors import GankitError

MAX_IMAGE_SIZE = 4096  # pixels per side; one 4096 px RGB batch of 64 is already 12 GiB as float32
NUMBER_WORDS = {2: "two", 3: "three"}


@dataclass(frozen=True)
class Range:
    """The values a numeric setting takes (each item's, for a tuple such as Adam's betas); a bound
    of None is open. NaN is outside every range."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    text: str | None = None  # how the message says it, when not "> 0", "in [0, 1)", ...

    def admits(self, value: float) -> bool:
        above = self.low is None or (value >= self.low if self.low_inclusive else value > self.low)
        below = self.high is None or (value <= self.high if self.high_inclusive else value < self.high)
        return above and below and value == value

    def __str__(self) -> str:
        if self.text is not None:
            return self.text
        if self.high is None:
            return f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
        if self.low is None:
            return f"{'<=' if self.high_inclusive else '<'} {self.high:g}"
        return f"in {'[' if self.low_inclusive else '('}{self.low:g}, {self.high:g}{']' if self.high_inclusive else ')'}"

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, tuple):  # every item in range, e.g. Adam's betas
            if not all(self.admits(item) for item in value):
                count = NUMBER_WORDS.get(len(value), str(len(value)))
                raise GankitError(f"{where} must be {count} numbers {self}, got {list(value)}")
        elif not self.admits(value):
            raise GankitError(f"{where} must be {self}, got {value}")


POSITIVE = Range(0, low_inclusive=False)
NON_NEGATIVE = Range(0)
FRACTION = Range(0, 1)
OPEN_FRACTION = Range(0, 1, low_inclusive=False, high_inclusive=False)
BETAS = Range(0, 1, high_inclusive=False)  # Adam's momentum coefficients; 1 would fail at the first step
# numpy takes 32-bit seeds and torch 64-bit ones; one range that every RNG accepts.
SEED = Range(0, 2**32 - 1, text=f"in 0..{2**32 - 1}")


def setting(default: Any, bounds: Range, **options: Any) -> Any:
    """A config field whose (non-None) values ``bounds`` admits; ``Settings`` checks it."""
    return field(default=default, metadata={"bounds": bounds}, **options)


class Settings:
    """Base of every config dataclass: the bounds declared with ``setting`` and the choices of
    ``Literal`` fields are checked here, once, whether the config comes from YAML or from code.
    A check that involves several fields goes in ``validate``; one that involves another section
    (the model's with train.batch_size) in ``check_run``."""

    section: ClassVar[str] = "model"  # the YAML section, for messages

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, where = getattr(self, f.name), f"{self.section}.{f.name}"
            if value is None:
                continue
            choices = _choices(hints[f.name])
            if choices is not None and value not in choices:
                raise GankitError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")
            if "bounds" in f.metadata:
                f.metadata["bounds"].check(value, where)
        self.validate()

    def validate(self) -> None:
        """Checks across fields; none by default."""

    def check_run(self, run: RunConfig) -> None:
        """Checks against the run's other sections (a model setting that constrains
        train.batch_size, say); none by default. ``RunConfig`` calls it on its model section."""


def _choices(hint: Any) -> tuple[Any, ...] | None:
    """The values of a Literal type (also inside ``X | None``), else None."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if typing.get_origin(option) is Literal:
                return typing.get_args(option)
    return None


Precision = Literal["32", "bf16", "16-mixed"]
PRECISION_NAMES: tuple[str, ...] = typing.get_args(Precision)


@dataclass
class DataConfig(Settings):
    """Where training images (or points) come from; see ``gankit data --help``."""

    section = "data"

    spec: str = "digits"
    image_size: int | None = setting(None, POSITIVE)  # None: the data set's own size (digits: 16)
    channels: int | None = None  # 1 = grey, 3 = RGB, None = as stored
    box: int | None = setting(None, POSITIVE)  # shrink each image into a centred box of this many px, black around (MNIST: 20 of 28)
    # Train on random patch_size x patch_size crops of the image_size images (anomaly detectors then
    # score whole images by overlapping tiles: gankit.models.tiling). None: whole images.
    patch_size: int | None = setting(None, POSITIVE)
    classes: list[int] | None = None  # keep only these labels
    limit: int | None = setting(None, POSITIVE)  # keep this many examples, drawn with data.seed (small-data runs)
    # Anomaly-detection protocols on labelled sets (gankit.data.protocols): training sees only
    # normal classes. Anomaly classes only: one-vs-rest; normal classes only: one-class.
    normal_classes: list[int] | None = None
    anomaly_classes: list[int] | None = None
    split: Literal["train", "test"] = "train"
    seed: int = setting(0, SEED)  # toy sampling and any shuffling before splits
    # 2-D toy mixtures (VEEGAN / PacGAN): ring radius, grid spacing, mode std.
    radius: float = setting(2.0, POSITIVE)
    spacing: float = setting(2.0, POSITIVE)
    std: float | None = setting(None, POSITIVE)  # None: 0.02 for the ring, 0.05 for the grid
    toy_samples: int = setting(100_000, POSITIVE)
    # Decode the whole set into one tensor ("auto": when it fits in max_memory_mb).
    in_memory: Literal["auto", "always", "never"] = "auto"
    max_memory_mb: int = setting(2048, POSITIVE)
    num_workers: int = setting(2, NON_NEGATIVE)  # decoding workers when streaming from disk

    def validate(self) -> None:
        if self.image_size is not None and self.image_size > MAX_IMAGE_SIZE:
            raise GankitError(f"data.image_size {self.image_size} is over the largest supported, {MAX_IMAGE_SIZE}")
        if self.patch_size is not None and self.image_size is not None and self.patch_size > self.image_size:
            raise GankitError(f"data.patch_size {self.patch_size} is larger than data.image_size {self.image_size}")
        if self.channels not in (None, 1, 3):
            raise GankitError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        overlap = set(self.normal_classes or []) & set(self.anomaly_classes or [])
        if overlap:
            raise GankitError(f"classes {sorted(overlap)} are both in data.normal_classes and data.anomaly_classes")


@dataclass
class TrainConfig(Settings):
    """How long and how the shared loop trains; budgets combine (first one reached stops)."""

    section = "train"

    batch_size: int = setting(64, POSITIVE)
    steps: int | None = setting(None, POSITIVE)  # one step = one call of train_step = one batch
    epochs: float | None = setting(None, POSITIVE)
    minutes: float | None = setting(None, POSITIVE)
    seed: int = setting(0, SEED)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_every: int = setting(25, POSITIVE)  # steps between scalar rows in metrics.jsonl
    sample_every: int = setting(500, POSITIVE)  # steps between sample grids in RUN/samples/
    checkpoint_every: int = setting(1000, POSITIVE)
    eval_every: int = setting(0, NON_NEGATIVE)  # steps between in-training evaluations (0: only at the end)
    eval_samples: int = setting(2500, POSITIVE)  # samples per evaluation (at most half the data: the floor needs two real halves)
    eval_metrics: list[str] | None = None  # None: every metric that applies (see gankit.metrics.METRICS)
    eval_features: str = "auto"  # features for FID/KID/PR: auto | classifier | inception
    keep_checkpoints: int = setting(3, POSITIVE)
    num_preview: int = setting(64, POSITIVE)  # samples in each grid (2-D points: at least 2,500)
    progress: bool = True  # a bar on a terminal; off, or piped: a plain line every print_every steps
    print_every: int = setting(100, POSITIVE)  # steps between plain progress lines
    precision: Precision = "32"  # autocast; fp16 (16-mixed) adds loss scaling
    channels_last: bool = False  # NHWC memory format for image networks and batches
    compile: bool = False  # torch.compile the trained networks
    lr_decay: Literal["none", "linear"] = "none"  # linear: every learning rate falls to 0 at train.steps
    on_nan: Literal["stop", "rollback"] = "stop"  # a non-finite loss stops, or reloads the last checkpoint
    nan_lr_factor: float = setting(0.5, Range(0, 1, low_inclusive=False))  # rollback multiplies every learning rate by this
    nan_max_rollbacks: int = setting(3, NON_NEGATIVE)  # rollbacks before a non-finite loss stops training anyway

    def validate(self) -> None:
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise GankitError("set a training budget: train.steps, train.epochs or train.minutes")
        if self.lr_decay == "linear" and self.steps is None:
            raise GankitError("train.lr_decay=linear decays to 0 at train.steps: set train.steps")


@dataclass
class RunConfig:
    """Everything needed to rebuild a run; stored as ``RUN/config.yaml``."""

    model_name: str
    model: Any  # the variant's own dataclass
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=1000))

    def __post_init__(self) -> None:
        self.model.check_run(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model_name, **dataclasses.asdict(self.model)},
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
        }


MAX_CONFIG_BYTES = 1 << 20


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"config file not found: {path}")
    # A config is a page of settings; a huge file is a mistake (and YAML parses it very slowly).
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise GankitError(f"{path} is {size / 2**20:.1f} MiB; a config file is at most {MAX_CONFIG_BYTES // 2**10} KiB")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise GankitError(f"{path} is not a text file (not UTF-8); give a YAML config") from None
    except yaml.YAMLError as error:
        raise GankitError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GankitError(f"{path} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def default_config_path(model_name: str) -> Path:
    return Path(__file__).parent / "configs" / f"{model_name}.yaml"


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings in place; values are parsed as YAML scalars."""
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise GankitError(f"--set expects section.key=value, got {item!r}")
        value = yaml_scalar(text) if text.strip() else None
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise GankitError(f"--set {item}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value
    return raw


def from_dict(cls: type, raw: dict[str, Any], section: str) -> Any:
    """Build dataclass ``cls`` from ``raw``, converting and checking every field."""
    if not isinstance(raw, dict):
        raise GankitError(f"config section {section!r} must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in raw.items():
        if key not in valid:
            raise GankitError(f"unknown key {section}.{key}; valid keys: {', '.join(sorted(valid))}")
        kwargs[key] = _convert(value, hints[key], f"{section}.{key}")
    return cls(**kwargs)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, where)
            except GankitError as error:
                errors.append(str(error))
        raise GankitError(errors[0])
    if origin is Literal:
        if value not in args and str(value) in args:  # --set train.precision=32 reads 32 as a number
            value = str(value)
        if value not in args:
            raise GankitError(f"{where} must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin in (list, tuple):
        items = parse_list(value, where)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise GankitError(f"{where} needs {len(args)} values, got {len(items)}")
            return tuple(_convert(v, a, where) for v, a in zip(items, args))
        item_type = args[0] if args else Any
        converted = [_convert(v, item_type, where) for v in items]
        return tuple(converted) if origin is tuple else converted
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise GankitError(f"{where} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise GankitError(f"{where} must be an integer, got {value!r}")
    if hint is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "5e-4" (no dot) as a string; it is a number
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise GankitError(f"{where} must be a number, got {value!r}")
        # No setting means anything by NaN or infinity (an open budget is null, not .inf).
        if not math.isfinite(number):
            raise GankitError(f"{where} must be a finite number, got {value!r}")
        return number
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise GankitError(f"{where} must be a string, got {value!r}")
    raise TypeError(f"config field {where} has an unsupported type {hint!r}")


def yaml_scalar(text: str) -> Any:
    """``text`` read as YAML (``3`` -> 3, ``[1, 2]`` -> a list); text YAML cannot read stays text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_list(value: Any, where: str) -> list[Any]:
    # "3,5" on the command line and [3, 5] in YAML mean the same list.
    if isinstance(value, str):
        return [yaml_scalar(part) for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)):
        return [value]
    raise GankitError(f"{where} must be a list, got {value!r}")
