"""Reading a configuration: a YAML file (version 1: flat, version 2: grouped) plus flags.

Precedence is CLI flag > config file > default. Relative paths in a file are taken relative to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoaug._yaml import read_yaml, validate
from autoaug.config._model import SearchConfig, nest
from autoaug.errors import ConfigError

_PATHS = {"data": ("train_dir", "val_dir", "test_dir", "train_file", "val_file", "test_file")}


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """The nested ``data`` with the relative paths of a file at ``base`` made absolute."""
    resolved = dict(data)
    group = resolved.get("data")
    if isinstance(group, dict):
        resolved["data"] = {
            key: str((base / value).resolve()) if key in _PATHS["data"] and isinstance(value, str) else value
            for key, value in group.items()
        }
    search = resolved.get("search")
    space = search.get("space") if isinstance(search, dict) else None
    if isinstance(space, str) and space.endswith((".yaml", ".yml")):
        resolved["search"] = {**search, "space": str((base / space).resolve())}
    return resolved


def config_from(data: dict[str, Any], overrides: dict[str, Any] | None, source: str) -> SearchConfig:
    """Validate ``data`` (flat or grouped) with the flat ``overrides`` on top (``None`` values are ignored).

    Raises:
        ConfigError: Naming ``source`` and each bad setting, with the allowed keys.
    """
    merged = nest(data)
    for group, settings in nest({key: value for key, value in (overrides or {}).items() if value is not None}).items():
        if isinstance(settings, dict) and isinstance(merged.get(group), dict):
            merged[group] = {**merged[group], **settings}
        else:
            merged[group] = settings
    return validate(SearchConfig, merged, source, ConfigError, allowed=SearchConfig.setting_names())


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> SearchConfig:
    """Read a config file (optional) and apply CLI overrides (``None`` values are ignored).

    Example:
        >>> load_config(overrides={"trials": 4}).search.trials
        4
    """
    if path is None:
        return config_from({}, overrides, "command-line flags")
    loaded = read_yaml(path, ConfigError)
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
    return config_from(_resolve_paths(nest(loaded), path.parent), overrides, f"{path} (with command-line flags)")
