"""The Python API, which the CLI also uses: build a config, train, load a run.

    run = gankit.train("wgan_gp", data="toy:ring8", steps=2000, out="runs/ring")
    model = gankit.load("runs/ring")
    points = model.sample(2500)
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from gankit.config import DataConfig, RunConfig, apply_overrides, default_config_path, from_dict, load_yaml
from gankit.data.dataset import DataSpec
from gankit.data.kinds import KnownSetSpec
from gankit.data.specs import check_given, resolve_spec
from gankit.errors import GankitError
from gankit.models import build_run_config, get_model_class
from gankit.models.base import GANModel
from gankit.rundir import RunDirectory
from gankit.scoring import ScoreResult, score_model
from gankit.training.checkpoint import latest_checkpoint, load_checkpoint, refused_checkpoints
from gankit.training.loop import Trainer, TrainResult, build_model, resolve_device

PROTOCOL_CLASSES = ("normal_classes", "anomaly_classes")


def make_config(
    model: str,
    *,
    config_file: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    **shortcuts: Any,
) -> RunConfig:
    """Resolve a run config: the model's packaged defaults, then ``config_file``,
    then shortcuts (``data``, ``steps``, ``epochs``, ``minutes``, ``device``, ``seed``,
    ``batch_size``), then ``overrides`` (``["train.steps=100"]`` or ``{"train.steps": 100}``)."""
    get_model_class(model)
    default = default_config_path(model)
    preset = load_yaml(default) if default.is_file() else {}
    user = load_yaml(config_file) if config_file is not None else {}
    shortcut_keys = {
        "data": "data.spec", "steps": "train.steps", "epochs": "train.epochs", "minutes": "train.minutes",
        "device": "train.device", "seed": "train.seed", "batch_size": "train.batch_size",
    }
    unknown = set(shortcuts) - set(shortcut_keys)
    if unknown:
        raise GankitError(f"unknown argument(s) {sorted(unknown)}; valid: {', '.join(shortcut_keys)}, overrides")
    budget = {"steps", "epochs", "minutes"} & {k for k, v in shortcuts.items() if v is not None}
    if budget:  # an explicit budget replaces the default one instead of racing it
        for key in ("steps", "epochs", "minutes"):
            user.setdefault("train", {})[key] = None
    for key, value in shortcuts.items():
        if value is not None:
            section, field_name = shortcut_keys[key].split(".")
            user.setdefault(section, {})[field_name] = value
    apply_overrides(user, _override_list(overrides))
    user_data = user.get("data") or {}
    raw = _merge(_preset_for_data(preset, user_data), user)
    raw.setdefault("model", {})["name"] = model
    config = build_run_config(raw)
    # Settings the user gave that the chosen data does not take are an error, not carried along.
    check_given(config.data, user_data)
    return config


def _preset_for_data(preset: dict[str, Any], user_data: dict[str, Any]) -> dict[str, Any]:
    """The preset without the data settings that belong to its own data set when the user names
    another: that data set's natural size applies (MNIST 28, folders 64), and protocol classes
    carry over only to the labelled sets gankit knows (a folder protocol names its own anomalies,
    and a folder may have no classes)."""
    preset_data = preset.get("data") or {}
    preset_spec = preset_data.get("spec", DataConfig.spec)
    spec = user_data.get("spec", preset_spec)
    if spec == preset_spec:
        return preset
    labelled = isinstance(resolve_spec(from_dict(DataConfig, {"spec": spec}, "data")), KnownSetSpec)
    kept = {key: value for key, value in preset_data.items() if key in PROTOCOL_CLASSES and labelled}
    return {**preset, "data": kept}


def _override_list(overrides: list[str] | dict[str, Any] | None) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={v}" for k, v in overrides.items()]
    return list(overrides)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_run_dir(config: RunConfig, root: str | Path = "runs") -> Path:
    spec = re.sub(r"[^A-Za-z0-9_.-]+", "-", DataSpec.of(config.data.spec).prefix) or "data"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{config.model_name}-{spec}-{stamp}"


def train(
    model: str,
    *,
    out: str | Path | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    progress: bool = True,
    **shortcuts: Any,
) -> TrainResult:
    """Train ``model`` (a key of ``gankit.MODELS``) and return where its results are."""
    config = make_config(model, config_file=config_file, overrides=overrides, **shortcuts)
    config.train.progress = progress and config.train.progress
    return Trainer(config, Path(out) if out else default_run_dir(config)).fit()


def resume(run_dir: str | Path, overrides: list[str] | dict[str, Any] | None = None, **budget: Any) -> TrainResult:
    """Continue a run from its latest checkpoint; only ``train.*`` settings may change."""
    run_dir = Path(run_dir)
    raw = load_yaml(RunDirectory(run_dir).config)
    changes = _override_list(overrides) + [f"train.{k}={v}" for k, v in budget.items() if v is not None]
    for change in changes:
        if not change.startswith("train."):
            raise GankitError(f"a resumed run can change only train.* settings, not {change.split('=')[0]}")
    config = build_run_config(apply_overrides(raw, changes))
    return Trainer(config, run_dir, resume=True).fit()


def resolve_checkpoint(run_dir: str | Path, checkpoint: str | Path | None = None) -> Path:
    """``checkpoint`` when given, else the run's newest usable checkpoint."""
    if checkpoint is not None:
        return Path(checkpoint)
    run = RunDirectory(run_dir)
    if not run.path.is_dir():
        raise GankitError(f"run directory not found: {run.path}")
    latest = latest_checkpoint(run.checkpoints)
    if latest is None:
        raise GankitError(f"{run.path} holds no usable checkpoint ({refused_checkpoints(run.checkpoints)})")
    return latest


def load(run_dir: str | Path, *, checkpoint: str | Path | None = None, device: str = "cpu") -> GANModel:
    """The trained model of a run (latest checkpoint unless one is named), in eval mode.
    A named checkpoint must be of the run's own variant when the run has a config."""
    run = RunDirectory(run_dir)
    checkpoint = resolve_checkpoint(run_dir, checkpoint)
    target = resolve_device(device)
    state = load_checkpoint(Path(checkpoint), map_location=target, model_name=_run_model_name(run))
    # A checkpoint of another version may name a variant or layers this one does not know.
    written = f"{checkpoint} (written by gankit {state.gankit_version})"
    try:
        config = build_run_config(state.config)
    except GankitError as error:
        raise GankitError(f"{written}: {error}") from None
    if config.model_name != state.model_name:
        raise GankitError(f"{written} names model {state.model_name!r} but holds the config of {config.model_name!r}")
    try:
        model = build_model(config, tuple(state.data_shape))
        model.load_state_dict(state.model)
    except (RuntimeError, ValueError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GankitError(f"{written} does not fit its own configuration: {reason}") from None
    model.run_config, model.step = config, state.step
    return model.to(target).eval().requires_grad_(False)


def _run_model_name(run: RunDirectory) -> str | None:
    """The variant a run directory trains (its config.yaml), or None where there is none to read."""
    if not run.config.is_file():
        return None
    try:
        name = (load_yaml(run.config).get("model") or {}).get("name")
    except (GankitError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def score(run: str | Path | GANModel, *, device: str = "cpu", **options: Any) -> ScoreResult:
    """Score a test set with a trained detector: a run directory (loaded on ``device``) or a model;
    ``options`` are those of :func:`gankit.scoring.score_model` (data, classes, out, maps, threshold, ...)."""
    if isinstance(run, GANModel):
        return score_model(run, **options)
    return score_model(load(run, device=device), run_dir=Path(run), **options)  # the run's report shows the results


__all__ = ["ScoreResult", "TrainResult", "load", "make_config", "resume", "score", "train"]
