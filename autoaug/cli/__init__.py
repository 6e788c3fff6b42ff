"""The ``autoaug`` command line: search, trials, export, plots, evaluate, ui, ops, preview."""

from __future__ import annotations

from autoaug.cli._parser import build_parser, config_overrides, evaluation_seeds, main

__all__ = ["build_parser", "config_overrides", "evaluation_seeds", "main"]
