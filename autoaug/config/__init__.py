"""Configuration: typed groups of settings (data, model, training, search, cluster, store) read once.

Example:
    >>> from autoaug.config import load_config
    >>> config = load_config(overrides={"epochs": 1})
    >>> config.training.epochs, config.recipe.epochs, config.resources
    (1, 1, {'cpu': 1.0, 'gpu': 0.0})
"""

from __future__ import annotations

from autoaug.config._load import config_from, load_config
from autoaug.config._model import (
    BUILTIN_TASKS,
    FINE_TUNE_GROUPS,
    FOLDERS,
    GROUPS,
    LOCAL_TRACKING_URI,
    NAME_PATTERN,
    NAME_RULE,
    RESUMABLE_GROUPS,
    SETTING_GROUP,
    TASK_DEFAULTS,
    TRACKING_URI_VARIABLE,
    ClusterConfig,
    DataConfig,
    ModelConfig,
    SearchConfig,
    SearchSettings,
    Settings,
    StoreConfig,
    TrainingConfig,
    check_name,
    default_tracking_uri,
    nest,
)
from autoaug.config._recipe import Recipe

__all__ = [
    "BUILTIN_TASKS",
    "FINE_TUNE_GROUPS",
    "FOLDERS",
    "GROUPS",
    "LOCAL_TRACKING_URI",
    "NAME_PATTERN",
    "NAME_RULE",
    "RESUMABLE_GROUPS",
    "SETTING_GROUP",
    "TASK_DEFAULTS",
    "TRACKING_URI_VARIABLE",
    "ClusterConfig",
    "DataConfig",
    "ModelConfig",
    "Recipe",
    "SearchConfig",
    "SearchSettings",
    "Settings",
    "StoreConfig",
    "TrainingConfig",
    "check_name",
    "config_from",
    "default_tracking_uri",
    "load_config",
    "nest",
]
