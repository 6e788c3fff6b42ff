"""Search configuration: typed groups of settings, validated once into a frozen model.

Each setting has one name, unique across groups: the key of a version-1 (flat) file, the flag
(``--name-with-dashes``) and the key inside its group in a version-2 file. Each command declares
the groups it accepts (``autoaug evaluate`` takes what shapes a fine-tune, not what steers a search).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import typing
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field

from autoaug._yaml import FrozenModel
from autoaug.config._recipe import Recipe
from autoaug.errors import ConfigError
from autoaug.tasks import get_task, list_tasks
from autoaug.vocabulary import DEFAULT_MODALITY, FILES_TASK

BUILTIN_TASKS = tuple(task.name for task in list_tasks(DEFAULT_MODALITY))
"""The built-in image tasks registered when this module was imported (``autoaug.tasks.list_tasks`` has them all)."""
TASK_DEFAULTS = ("epochs", "train_size")
"""Settings that default to the task's own values (see :class:`autoaug.tasks.BuiltinTask`) when not given."""
FOLDERS = "folders"
"""The task of the user's own image folders."""
_FOLDERS_DEFAULTS = {"epochs": 2, "train_size": 2000}
# Search names become MLflow tags, filter values and folder names (Tune's state): no path tricks, no quotes.
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
NAME_RULE = "1 to 100 letters, digits, '_', '-' and '.', the first not '.' or '-'"
LOCAL_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
"""The store used when neither a flag, a config file nor ``$MLFLOW_TRACKING_URI`` names one."""
TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when it is set and not empty, else :data:`LOCAL_TRACKING_URI`."""
    return os.environ.get(TRACKING_URI_VARIABLE) or LOCAL_TRACKING_URI


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
    values = [f"{task.name} {getattr(task, setting)}" for task in list_tasks(DEFAULT_MODALITY)]
    return ", ".join([*values, f"{FOLDERS} {_FOLDERS_DEFAULTS[setting]}"])


class Settings(FrozenModel):
    """A group of settings; YAML's ``true`` is no number and ``1.0`` no whole number (pydantic would take both)."""

    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        annotation = cls.model_fields[str(info.field_name)].annotation
        kinds = set(typing.get_args(annotation)) or {annotation}
        numeric = kinds & {int, float} or all(type(kind) is int for kind in kinds)  # Literal[1, 2] gives {1, 2}
        if isinstance(value, bool) and numeric:
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, float) and int in kinds and float not in kinds:
            raise ValueError(f"expected a whole number such as {value:.0f}, got {value!r}")
        return value


class DataConfig(Settings):
    """The data: the modality, a task of it (or the user's image folders) and how it is cut."""

    modality: str = Field(DEFAULT_MODALITY, description="the kind of data: a modality whose tasks are registered")
    task: str = Field(
        "digits", description=f"built-in task ({', '.join(BUILTIN_TASKS)}) or '{FOLDERS}' for your own image folders"
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
    train_file: Path | None = Field(
        None,
        description=f"embedding task '{FILES_TASK}': training vectors (.npz with x and y, .npy with a .labels.npy "
        "beside it, .parquet with a label column), a text table (.csv/.tsv with text and label columns) or an "
        "image folder <dir>/<class>/*",
    )
    val_file: Path | None = Field(None, description=f"embedding task '{FILES_TASK}': clean target data, same forms")
    test_file: Path | None = Field(None, description=f"embedding task '{FILES_TASK}': held-out target data "
                                   "(default: split off val_file)")  # fmt: skip
    encoder: str | None = Field(
        None, description=f"embedding task '{FILES_TASK}' with texts or images: a sentence-transformers model or a "
        "timm backbone"
    )  # fmt: skip
    held_out: tuple[str, ...] = Field(
        (), description=f"embedding task '{FILES_TASK}': classes kept out of training, for the unseen-class measure"
    )

    @pydantic.field_validator("task")
    @classmethod
    def _known_task(cls, value: str, info: pydantic.ValidationInfo) -> str:
        modality = info.data.get("modality", DEFAULT_MODALITY)
        if modality == DEFAULT_MODALITY and value == FOLDERS:
            return value
        try:
            task = get_task(value)
        except ConfigError as exc:
            folders = f"; or '{FOLDERS}' for your own image folders" if modality == DEFAULT_MODALITY else ""
            raise ValueError(f"{exc}{folders}") from None
        if task.modality != modality:
            raise ValueError(f"task {value!r} holds {task.modality} data, not {modality} data (modality {modality!r})")
        return value

    @pydantic.field_validator("modality")
    @classmethod
    def _known_modality(cls, value: str) -> str:
        known = sorted({task.modality for task in list_tasks()})
        if value not in known:
            raise ValueError(
                f"unknown modality {value!r}: expected one with registered tasks ({', '.join(known)}); a modality "
                "registers its tasks with autoaug.tasks.register_task"
            )
        return value

    @pydantic.model_validator(mode="after")
    def _folders_need_dirs(self) -> DataConfig:
        if self.task == FOLDERS and (self.train_dir is None or self.val_dir is None):
            raise ValueError("task 'folders' needs train_dir and val_dir (image folders <dir>/<class>/*.png)")
        if self.task != FOLDERS and self.train_dir is not None:
            raise ValueError(f"train_dir is only used with task 'folders' (task is {self.task!r})")
        if self.task == FILES_TASK and (self.train_file is None or self.val_file is None):
            raise ValueError(f"task '{FILES_TASK}' needs train_file and val_file (vectors, a text table or image folders)")
        if self.task != FILES_TASK and self.train_file is not None:
            raise ValueError(f"train_file is only used with the embedding task '{FILES_TASK}' (task is {self.task!r})")
        return self


class ModelConfig(Settings):
    """The pre-trained backbone (or encoder) every fine-tune starts from."""

    backbone: str = Field("tf_efficientnet_lite0", description="any timm model name")
    weights: str = Field("auto", description="'auto' (weights shipped in a package), a checkpoint path, 'hub', 'none'")


class TrainingConfig(Settings):
    """How one fine-tune runs: what makes its result what it is."""

    epochs: int = Field(
        _FOLDERS_DEFAULTS["epochs"], ge=1, description=f"fine-tuning epochs per trial ({_per_task('epochs')})"
    )
    batch_size: int = Field(64, ge=1, description="training batch size")
    lr: float = Field(1e-3, gt=0.0, description="AdamW learning rate")
    seed: int = Field(0, description="seed for data splits, training and the sampler")
    cpus_per_trial: float = Field(1.0, gt=0.0, description="CPUs reserved by each trial (also its torch threads)")
    data_workers: int | None = Field(
        None,
        ge=0,
        description="DataLoader worker processes augmenting each fine-tune's training batches (0: on the training "
        "thread; default: 0 with 2 CPUs or fewer or under 4 batches an epoch, else min(4, CPUs - 1)); results do "
        "not depend on it",
    )


class SearchSettings(Settings):
    """What a search tries, how it stops weak trials and how it confirms its pick."""

    space: str = Field("default", description="built-in search space name or a YAML file")
    trials: int = Field(16, ge=0, description="searched trials, run after the baselines")
    baselines: tuple[str, ...] = Field(
        ("none", "trivial_augment_wide", "rand_augment", "auto_augment"),
        description="baseline policies evaluated first (the confirmation stage compares with them)",
    )
    gpus_per_trial: float = Field(0.0, ge=0.0, description="GPUs per trial; fractions share a GPU")
    early_stopping: bool = Field(
        False,
        description="stop weak trials early (ASHA on validation accuracy; objective 'accuracy' only); off by default: "
        "at the built-in tasks' budgets an early epoch's score does not predict the last one's",
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
    target_match: bool = Field(
        True,
        description="before the sampler, fine-tune the chain of ops that brings the training images closest to the "
        "target images (measured without training; 'stacked' spaces)",
    )
    screen: int = Field(0, ge=0, description="score this many candidate policies without training first (0: off)")
    screen_top: int = Field(4, ge=1, description="fine-tune the best-screened candidates first, at most this many")

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> SearchSettings:
        if self.confirm_seeds == 1:
            raise ValueError("confirm_seeds: a paired gap needs a spread, so give 0 (no confirmation) or at least 2")
        if self.objective == "multi" and self.early_stopping and "early_stopping" in self.model_fields_set:
            raise ValueError(
                "early_stopping needs objective 'accuracy': with objective 'multi' a trial weak in accuracy may "
                "still be Pareto-optimal in affinity or diversity; drop --early-stopping or use --objective accuracy"
            )
        return self


class ClusterConfig(Settings):
    """Where the trials run and how many at once; a resumed search may change these."""

    address: str | None = Field(None, description="Ray cluster address (default: a local Ray runtime)")
    concurrency: int = Field(2, ge=1, description="trials running at once")
    max_failures: int = Field(2, ge=0, description="times a failed trial is retried, e.g. after losing its worker node")
    storage_path: str | None = Field(
        None, description="where Ray Tune keeps the state --resume needs (default: beside a local store, else "
        "~/autoaug_results; shared storage or s3://... if the driver may restart elsewhere)"
    )


class StoreConfig(Settings):
    """Where the records go; a resumed search may change these."""

    tracking_uri: str = Field(
        default_factory=default_tracking_uri,
        description=f"MLflow tracking URI, a server URL on a cluster (default: ${TRACKING_URI_VARIABLE}, else "
        f"{LOCAL_TRACKING_URI})",
    )
    experiment: str = Field("autoaug", description="MLflow experiment name")
    study_storage: str | None = Field(
        None, description="Optuna storage URL of the search's study, named after the search (default: optuna.db "
        "beside a local sqlite store; in memory with a tracking server)"
    )


GROUPS: dict[str, type[Settings]] = {
    "data": DataConfig,
    "model": ModelConfig,
    "training": TrainingConfig,
    "search": SearchSettings,
    "cluster": ClusterConfig,
    "store": StoreConfig,
}
"""Every group of settings, by its key in a version-2 file."""
SETTING_GROUP = {name: group for group, model in GROUPS.items() for name in model.model_fields}
"""The group of each setting."""
FINE_TUNE_GROUPS = ("data", "model", "training")
"""The groups that shape one fine-tune and its result (an evaluation takes these and ``store``)."""
RESUMABLE_GROUPS = ("cluster", "store")
"""The groups a resumed search may change: where it runs and records; everything else is as recorded."""
_TOP = ("version", "name")


def nest(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every flat setting (a version-1 key or a flag) moved into its group; a copy.

    Example:
        >>> nest({"version": 1, "trials": 4, "data": {"task": "printed"}})
        {'version': 1, 'search': {'trials': 4}, 'data': {'task': 'printed'}}
    """
    nested: dict[str, Any] = {}
    for key, value in data.items():
        group = SETTING_GROUP.get(key)
        if group is None:
            nested[key] = dict(value) if key in GROUPS and isinstance(value, dict) else value
        else:
            nested.setdefault(group, {})
            if not isinstance(nested[group], dict):
                raise ConfigError(f"{group}: expected a mapping of settings, got {type(nested[group]).__name__}")
            nested[group][key] = value
    return nested


class SearchConfig(Settings):
    """Everything one search needs, in groups. Defaults run the built-in offline ``digits`` task.

    Flat settings (a version-1 file, flags, keyword arguments) go to their group. ``epochs`` and
    ``train_size`` left out take the task's defaults (:data:`TASK_DEFAULTS`).

    Example:
        >>> config = SearchConfig(task="mnist-fewshot", trials=4)
        >>> config.search.trials, config.training.epochs, config.recipe.threads
        (4, 24, 1)
    """

    version: Literal[1, 2] = 2
    name: str | None = Field(None, description="search name (default: task and time)")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    search: SearchSettings = SearchSettings()
    cluster: ClusterConfig = ClusterConfig()
    store: StoreConfig = Field(default_factory=StoreConfig)  # read when built: the default URI follows the environment

    @pydantic.model_validator(mode="before")
    @classmethod
    def _groups_and_task_defaults(cls, data: Any) -> Any:
        """Nests flat settings and fills the :data:`TASK_DEFAULTS` and the task's other defaults not given."""
        if not isinstance(data, dict):
            return data
        data = nest(data)
        groups = {group: data.get(group, {}) for group in ("data", "training")}
        if not all(isinstance(group, dict) for group in groups.values()):
            return data  # reported by the group's own validation
        try:
            task = get_task(groups["data"].get("task", DataConfig.model_fields["task"].default))
        except ConfigError:
            return data  # 'folders' takes the field defaults; an unknown name is reported by DataConfig
        data["data"] = {"train_size": task.train_size, **groups["data"]}
        data["training"] = {"epochs": task.epochs, **groups["training"]}
        for key, value in task.defaults.items():
            group = SETTING_GROUP[key]
            if isinstance(data.get(group, {}), dict):
                data[group] = {key: value, **data.get(group, {})}
        return data

    @pydantic.field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)

    @property
    def recipe(self) -> Recipe:
        """The fine-tuning recipe of every trial: the training settings, one torch thread per reserved CPU."""
        training = self.training
        return Recipe(
            epochs=training.epochs,
            batch_size=training.batch_size,
            lr=training.lr,
            seed=training.seed,
            threads=max(1, int(training.cpus_per_trial)),
            workers=training.data_workers,
        )

    @property
    def resources(self) -> dict[str, float]:
        """What each trial (and each task of the search) reserves on Ray: ``{"cpu": ..., "gpu": ...}``."""
        return {"cpu": self.training.cpus_per_trial, "gpu": self.search.gpus_per_trial}

    def settings(self, groups: typing.Iterable[str] = GROUPS) -> dict[str, Any]:
        """The settings of ``groups`` by their flat names (as MLflow params, flags and version-1 keys)."""
        return {name: value for group in groups for name, value in getattr(self, group)}

    def search_name(self) -> str:
        """The given name, or one made from the task and the current time."""
        return self.name or f"{self.data.task}-{dt.datetime.now():%Y%m%d-%H%M%S}"

    def with_name(self, name: str) -> SearchConfig:
        """A copy with the search name fixed (so it is the same everywhere it is recorded)."""
        return self.model_copy(update={"name": name})

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """Every key a version-1 file may hold."""
        return (*_TOP, *SETTING_GROUP)
