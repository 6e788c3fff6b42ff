"""The search driver: the only layer that combines Ray, Optuna and MLflow."""

from __future__ import annotations

from autoaug.search._driver import PreparedSearch, SearchOutcome, prepare_search, run_search
from autoaug.search._resume import recorded_config
from autoaug.search._searcher import PolicySearcher

__all__ = ["PolicySearcher", "PreparedSearch", "SearchOutcome", "prepare_search", "recorded_config", "run_search"]
