"""Search configuration: a versioned YAML file and CLI flags, validated once into a frozen model.

Precedence is CLI flag > config file > default. Relative paths in a file are taken relative to it.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field

from autoaug._yaml import FrozenModel, read_yaml, validate
from autoaug.modalities.image.data import get_task, list_tasks
from autoaug.errors import ConfigError

BUILTIN_TASKS = tuple(task.name for task in list_tasks())
"""The built-in tasks registered when this module was imported (``autoaug.modalities.image.data.list_tasks`` has them all)."""
TASK_DEFAULTS = ("epochs", "train_size")
"""Settings that default to the task's own values (see :class:`autoaug.modalities.image.data.BuiltinTask`) when not given."""
_FOLDERS_DEFAULTS = {"epochs": 2, "train_size": 2000}
_PATH_FIELDS = ("train_dir", "val_dir", "test_dir")
# Search names become MLflow tags, filter values and folder names (Tune's state): no path tricks, no quotes.
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
NAME_RULE = "1 to 100 letters, digits, '_', '-' and '.', the first not '.' or '-'"


def check_name(value: str) -> str:
    """Return ``value`` if it is a valid search name (see :data:`NAME_RULE`).

    Raises:
        ValueError: It is not, saying what a name may hold.
    """
    if not isinstance(value, str) or not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(f"invalid search name {value!r}: use {NAME_RULE}")
    return value


def _per_task(setting: str) -> str:
    """The default of ``setting`` for each task, for help texts: ``digits 2, ..., folders 2``."""
    values = [f"{task.name} {getattr(task, setting)}" for task in list_tasks()]
    return ", ".join([*values, f"folders {_FOLDERS_DEFAULTS[setting]}"])


class SearchConfig(FrozenModel):
    """Everything one search needs. Defaults run the built-in offline ``digits`` task.

    ``epochs`` and ``train_size`` left out take the task's defaults (:data:`TASK_DEFAULTS`).
    """

    version: Literal[1] = 1
    name: str | None = Field(None, description="search name (default: task and time)")
    task: str = Field(
        "digits", description=f"built-in task ({', '.join(BUILTIN_TASKS)}) or 'folders' for your own image folders"
    )
    train_dir: Path | None = Field(None, description="training images, <dir>/<class>/*.png (task 'folders')")
    val_dir: Path | None = Field(None, description="clean target-domain images that score trials (task 'folders')")
    test_dir: Path | None = Field(None, description="held-out target images (default: split off val_dir)")
    image_size: int = Field(32, ge=8, le=1024, description="images are resized to this square size")
    train_size: int = Field(
        _FOLDERS_DEFAULTS["train_size"],
        ge=10,
        description="training images, class-balanced: MNIST scans (digits), rendered digits (printed), the shots of "
        "all 10 classes, with as many per class for validation (mnist-fewshot), at most this many (folders); "
        f"{_per_task('train_size')}",
    )
    val_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="share of target images used for validation")
    backbone: str = Field("tf_efficientnet_lite0", description="any timm model name")
    weights: str = Field("auto", description="'auto' (weights shipped in a package), a checkpoint path, 'hub', 'none'")
    space: str = Field("default", description="built-in search space name or a YAML file")
    trials: int = Field(16, ge=0, description="searched trials, run after the baselines")
    baselines: tuple[str, ...] = Field(
        ("none", "trivial_augment_wide", "rand_augment", "auto_augment"),
        description="baseline policies evaluated first (the confirmation stage compares with them)",
    )
    epochs: int = Field(
        _FOLDERS_DEFAULTS["epochs"], ge=1, description=f"fine-tuning epochs per trial ({_per_task('epochs')})"
    )
    batch_size: int = Field(64, ge=1, description="training batch size")
    lr: float = Field(1e-3, gt=0.0, description="AdamW learning rate")
    seed: int = Field(0, description="seed for data splits, training and the sampler")
    concurrency: int = Field(2, ge=1, description="trials running at once")
    cpus_per_trial: float = Field(1.0, gt=0.0, description="CPUs reserved by each trial (also its torch threads)")
    gpus_per_trial: float = Field(0.0, ge=0.0, description="GPUs per trial; fractions share a GPU")
    early_stopping: bool = Field(
        True, description="stop weak trials early (ASHA on validation accuracy; objective 'accuracy' only)"
    )
    grace_fraction: float = Field(
        0.25, gt=0.0, le=1.0, description="early stopping's first rung as a share of the epochs (at least 1 epoch)"
    )
    reduction_factor: int = Field(2, ge=2, le=8, description="early stopping keeps the best 1/N at each rung")
    confirm_top: int = Field(
        3, ge=0, description="searched policies fine-tuned again with the baselines on fresh seeds (0: no confirmation)"
    )
    confirm_seeds: int = Field(3, ge=0, le=50, description="fresh seeds of the confirmation stage (0 or at least 2)")
    objective: Literal["accuracy", "multi"] = Field(
        "accuracy",
        description="'accuracy' (maximise target-validation accuracy) or 'multi' (maximise it together with "
        "affinity and diversity: a Pareto search, without early stopping)",
    )
    screen: int = Field(0, ge=0, description="score this many candidate policies without training first (0: off)")
    screen_top: int = Field(4, ge=1, description="fine-tune the best-screened candidates first, at most this many")
    tracking_uri: str = Field("sqlite:///mlruns/mlflow.db", description="MLflow tracking URI (a server URL on a cluster)")
    experiment: str = Field("autoaug", description="MLflow experiment name")
    address: str | None = Field(None, description="Ray cluster address (default: a local Ray runtime)")
    max_failures: int = Field(2, ge=0, description="times a failed trial is retried, e.g. after losing its worker node")
    storage_path: str | None = Field(
        None, description="where Ray Tune keeps the state --resume needs (default: beside a local store, else "
        "~/autoaug_results; shared storage or s3://... if the driver may restart elsewhere)"
    )

    @pydantic.model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any) -> Any:
        """Fills the :data:`TASK_DEFAULTS` settings that were not given from the built-in task."""
        if not isinstance(data, dict):
            return data
        name = data.get("task", cls.model_fields["task"].default)
        try:
            task = get_task(name)
        except ConfigError:
            return data  # 'folders' takes the field defaults; an unknown name is reported by _known_task
        return {**{setting: getattr(task, setting) for setting in TASK_DEFAULTS}, **data}

    @pydantic.field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)

    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        """YAML's ``true`` is no epoch count and ``1.0`` no whole number (pydantic would take both)."""
        annotation = cls.model_fields[str(info.field_name)].annotation
        kinds = set(typing.get_args(annotation)) or {annotation}
        numeric = kinds & {int, float} or all(type(kind) is int for kind in kinds)  # Literal[1] gives {1}
        if isinstance(value, bool) and numeric:
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, float) and int in kinds and float not in kinds:
            raise ValueError(f"expected a whole number such as {value:.0f}, got {value!r}")
        return value

    @pydantic.field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        if value != "folders":
            try:
                get_task(value)
            except ConfigError as exc:
                raise ValueError(f"{exc}; or 'folders' for your own image folders") from None
        return value

    @pydantic.model_validator(mode="after")
    def _folders_need_dirs(self) -> SearchConfig:
        if self.task == "folders" and (self.train_dir is None or self.val_dir is None):
            raise ValueError("task 'folders' needs train_dir and val_dir (image folders <dir>/<class>/*.png)")
        if self.task != "folders" and self.train_dir is not None:
            raise ValueError(f"train_dir is only used with task 'folders' (task is {self.task!r})")
        if self.confirm_seeds == 1:
            raise ValueError("confirm_seeds: a paired gap needs a spread, so give 0 (no confirmation) or at least 2")
        if self.objective == "multi" and self.early_stopping and "early_stopping" in self.model_fields_set:
            raise ValueError(
                "early_stopping needs objective 'accuracy': with objective 'multi' a trial weak in accuracy may "
                "still be Pareto-optimal in affinity or diversity; drop --early-stopping or use --objective accuracy"
            )
        return self

    def search_name(self) -> str:
        """The given name, or one made from the task and the current time."""
        return self.name or f"{self.task}-{dt.datetime.now():%Y%m%d-%H%M%S}"

    def with_name(self, name: str) -> SearchConfig:
        """A copy with the search name fixed (so it is the same everywhere it is recorded)."""
        return self.model_copy(update={"name": name})


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = dict(data)
    for key in _PATH_FIELDS:
        if isinstance(resolved.get(key), str):
            resolved[key] = str((base / resolved[key]).resolve())
    if isinstance(resolved.get("space"), str) and resolved["space"].endswith((".yaml", ".yml")):
        resolved["space"] = str((base / resolved["space"]).resolve())
    return resolved


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> SearchConfig:
    """Read a config file (optional) and apply CLI overrides (``None`` values are ignored).

    Example:
        >>> load_config(overrides={"trials": 4}).trials
        4
    """
    data: dict[str, Any] = {}
    source = "command-line flags"
    if path is not None:
        loaded = read_yaml(path, ConfigError)
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        data = _resolve_paths(loaded, path.parent)
        source = f"{path} (with command-line flags)"
    data.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return validate(SearchConfig, data, source, ConfigError)
