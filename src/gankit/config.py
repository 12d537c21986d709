"""Typed run configuration: dataclasses, YAML files and ``--set`` overrides.

A run is described by a :class:`RunConfig` with three shared sections
(``data``, ``train``) and one variant section (``model``) whose dataclass is
owned by the variant (``MODELS[name].Config``). Raw dictionaries from YAML or
the command line are converted field by field, so an unknown key or a wrong
type is an error that names the valid choices.

    raw = load_yaml("configs/gan.yaml")
    apply_overrides(raw, ["train.steps=200", "model.latent_dim=32"])
    config = build_run_config(raw)
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gankit.errors import GankitError

PRECISION_NAMES = ("32", "bf16", "16-mixed")


MAX_IMAGE_SIZE = 4096  # pixels per side; one 4096 px RGB batch of 64 is already 12 GiB as float32


@dataclass
class DataConfig:
    """Where training images (or points) come from; see ``gankit data --help``."""

    spec: str = "digits"
    image_size: int | None = None  # None: the data set's own size (digits: 16)
    channels: int | None = None  # 1 = grey, 3 = RGB, None = as stored
    box: int | None = None  # shrink each image into a centred box of this many px, black around (MNIST: 20 of 28)
    # Train on random patch_size x patch_size crops of the image_size images (anomaly detectors then
    # score whole images by overlapping tiles: gankit.models.tiling). None: whole images.
    patch_size: int | None = None
    classes: list[int] | None = None  # keep only these labels
    # Anomaly-detection protocols on labelled sets (gankit.data.anomaly): training sees only
    # normal classes. Anomaly classes only: one-vs-rest; normal classes only: one-class.
    normal_classes: list[int] | None = None
    anomaly_classes: list[int] | None = None
    split: Literal["train", "test"] = "train"
    seed: int = 0  # toy sampling and any shuffling before splits
    # 2-D toy mixtures (VEEGAN / PacGAN): ring radius, grid spacing, mode std.
    radius: float = 2.0
    spacing: float = 2.0
    std: float | None = None  # None: 0.02 for the ring, 0.05 for the grid
    toy_samples: int = 100_000
    # Decode the whole set into one tensor ("auto": when it fits in max_memory_mb).
    in_memory: Literal["auto", "always", "never"] = "auto"
    max_memory_mb: int = 2048
    num_workers: int = 2  # decoding workers when streaming from disk

    def __post_init__(self) -> None:
        _check_positive(self, "image_size", "channels", "box", "patch_size", "toy_samples", "max_memory_mb")
        _check_positive(self, "radius", "spacing", "std")
        if self.image_size is not None and self.image_size > MAX_IMAGE_SIZE:
            raise GankitError(f"data.image_size {self.image_size} is over the largest supported, {MAX_IMAGE_SIZE}")
        if self.patch_size is not None and self.image_size is not None and self.patch_size > self.image_size:
            raise GankitError(f"data.patch_size {self.patch_size} is larger than data.image_size {self.image_size}")
        _check_seed(self)
        if self.channels not in (None, 1, 3):
            raise GankitError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.num_workers < 0:
            raise GankitError(f"data.num_workers must be >= 0, got {self.num_workers}")
        overlap = set(self.normal_classes or []) & set(self.anomaly_classes or [])
        if overlap:
            raise GankitError(f"classes {sorted(overlap)} are both in data.normal_classes and data.anomaly_classes")


@dataclass
class TrainConfig:
    """How long and how the shared loop trains; budgets combine (first one reached stops)."""

    batch_size: int = 64
    steps: int | None = None  # one step = one call of train_step = one batch
    epochs: float | None = None
    minutes: float | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_every: int = 25  # steps between scalar rows in metrics.jsonl
    sample_every: int = 500  # steps between sample grids in RUN/samples/
    checkpoint_every: int = 1000
    eval_every: int = 0  # steps between in-training evaluations (0: only at the end)
    eval_samples: int = 2500  # samples per evaluation (at most half the data: the floor needs two real halves)
    eval_metrics: list[str] | None = None  # None: every metric that applies (see gankit.metrics.METRICS)
    eval_features: str = "auto"  # features for FID/KID/PR: auto | classifier | inception
    keep_checkpoints: int = 3
    num_preview: int = 64  # samples in each grid (2-D points: at least 2,500)
    progress: bool = True
    precision: str = "32"  # 32 | bf16 | 16-mixed (autocast; fp16 adds loss scaling)
    channels_last: bool = False  # NHWC memory format for image networks and batches
    compile: bool = False  # torch.compile the trained networks
    on_nan: str = "stop"  # stop | rollback: a non-finite loss stops, or reloads the last checkpoint
    nan_lr_factor: float = 0.5  # rollback multiplies every learning rate by this
    nan_max_rollbacks: int = 3  # rollbacks before a non-finite loss stops training anyway

    def __post_init__(self) -> None:
        _check_positive(self, "batch_size", "steps", "epochs", "minutes", "log_every")
        _check_positive(self, "sample_every", "checkpoint_every", "keep_checkpoints", "num_preview")
        _check_positive(self, "eval_samples")
        _check_seed(self)
        if self.eval_every < 0:
            raise GankitError(f"train.eval_every must be >= 0, got {self.eval_every}")
        if self.precision not in PRECISION_NAMES:
            raise GankitError(f"train.precision must be one of {', '.join(PRECISION_NAMES)}, got {self.precision!r}")
        if self.on_nan not in ("stop", "rollback"):
            raise GankitError(f"train.on_nan must be stop or rollback, got {self.on_nan!r}")
        if not 0 < self.nan_lr_factor <= 1:
            raise GankitError(f"train.nan_lr_factor must be in (0, 1], got {self.nan_lr_factor}")
        if self.nan_max_rollbacks < 0:
            raise GankitError(f"train.nan_max_rollbacks must be >= 0, got {self.nan_max_rollbacks}")
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise GankitError("set a training budget: train.steps, train.epochs or train.minutes")


@dataclass
class RunConfig:
    """Everything needed to rebuild a run; stored as ``RUN/config.yaml``."""

    model_name: str
    model: Any  # the variant's own dataclass
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=1000))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model_name, **dataclasses.asdict(self.model)},
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
        }


def _check_positive(obj: Any, *names: str) -> None:
    check_positive(obj, *names, section=type(obj).__name__.removesuffix("Config").lower())


def _check_seed(obj: Any) -> None:
    # numpy takes 32-bit seeds and torch 64-bit ones; one range that every RNG accepts.
    if not 0 <= obj.seed < 2**32:
        section = type(obj).__name__.removesuffix("Config").lower()
        raise GankitError(f"{section}.seed must be in 0..{2**32 - 1}, got {obj.seed}")


def check_betas(obj: Any, *names: str, section: str = "model") -> None:
    """Adam's momentum coefficients must lie in [0, 1); else Adam would fail at the first step."""
    for name in names:
        if not all(0 <= beta < 1 for beta in getattr(obj, name)):
            raise GankitError(f"{section}.{name} must be two numbers in [0, 1), got {list(getattr(obj, name))}")


def check_positive(obj: Any, *names: str, section: str = "model", allow_zero: bool = False) -> None:
    """GankitError unless each field (when set) is > 0 (>= 0 with ``allow_zero``); NaN fails too."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and not (value >= 0 if allow_zero else value > 0):
            raise GankitError(f"{section}.{name} must be {'>=' if allow_zero else '>'} 0, got {value}")


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
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


def build_run_config(raw: dict[str, Any]) -> RunConfig:
    """Turn a raw nested dict into a validated :class:`RunConfig`."""
    from gankit.models import get_model_class

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
