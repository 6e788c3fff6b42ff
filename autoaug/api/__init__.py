"""The Python API: what the command line does, as functions for notebooks and training code.

Each function checks its inputs as the command does and raises a typed :class:`~autoaug.errors.AutoaugError`
instead of printing; Ray, Optuna and MLflow load only when a function needs them.

Example:
    >>> import autoaug
    >>> result = autoaug.search(task="digits", trials=4, train_size=200, epochs=1, name="demo")  # doctest: +SKIP
    >>> table = result.to_pandas()  # doctest: +SKIP
    >>> exported = autoaug.export(result, "knee.json", pick="knee")  # doctest: +SKIP
    >>> transform = autoaug.load_policy(exported.path)  # doctest: +SKIP
    >>> transform = load_policy("runs:/0123456789abcdef0123456789abcdef/policy.json")  # doctest: +SKIP
"""

from __future__ import annotations

from autoaug.api._evaluate import evaluate
from autoaug.api._export import ExportedPolicy, export
from autoaug.api._load import load_policy
from autoaug.api._result import SearchResult
from autoaug.api._search import resolve_config, search, trials

__all__ = ["ExportedPolicy", "SearchResult", "evaluate", "export", "load_policy", "resolve_config", "search", "trials"]
