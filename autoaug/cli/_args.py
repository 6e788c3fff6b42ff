"""Parsed arguments as what the commands need: the configuration's overrides and the evaluation's seeds."""

from __future__ import annotations

import argparse
from typing import Any

from autoaug.config import SearchConfig

DEFAULT_REPEATS = 3
"""Seeds ``autoaug evaluate`` takes by default: the ones after the search's."""


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration flags that were given, keyed by setting."""
    return {name: value for name in SearchConfig.setting_names() if (value := getattr(args, name, None)) is not None}


def evaluation_seeds(args: argparse.Namespace, search_seed: int) -> tuple[int, ...]:
    """The seeds ``autoaug evaluate`` fine-tunes with: ``--seeds``, else the ``--repeats`` seeds after ``search_seed``.

    The search trained every trial with ``search_seed`` and picked its best policy at that seed, so by
    default the evaluation leaves it out.
    """
    if args.seeds:
        return tuple(args.seeds)
    repeats = DEFAULT_REPEATS if args.repeats is None else args.repeats
    return tuple(range(search_seed + 1, search_seed + 1 + repeats))
