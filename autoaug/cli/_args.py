"""Parsed arguments as what the commands need: the configuration's overrides."""

from __future__ import annotations

import argparse
from typing import Any

from autoaug.config import SearchConfig


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration flags that were given, keyed by setting."""
    return {name: value for name in SearchConfig.setting_names() if (value := getattr(args, name, None)) is not None}
