"""Search configuration: a versioned YAML file and CLI flags, validated once into a frozen model."""

from __future__ import annotations

from autoaug.config._model import (
    BUILTIN_TASKS,
    NAME_PATTERN,
    NAME_RULE,
    TASK_DEFAULTS,
    SearchConfig,
    check_name,
    load_config,
)

__all__ = ["BUILTIN_TASKS", "NAME_PATTERN", "NAME_RULE", "TASK_DEFAULTS", "SearchConfig", "check_name", "load_config"]
