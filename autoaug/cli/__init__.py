"""The ``autoaug`` command line: search, trials, export, plots, evaluate, ui, ops, preview.

Importing it loads neither torch nor Ray: a command's work is imported when it runs.
"""

from __future__ import annotations

from autoaug.cli._args import config_overrides
from autoaug.cli._main import main
from autoaug.cli._parser import COMMAND_GROUPS, build_parser

__all__ = ["COMMAND_GROUPS", "build_parser", "config_overrides", "main"]
