"""Modules imported on first use, so that listing the registered ops does not load torch.

The kernels' modules name ``torch``, ``F`` and ``v2`` as module globals, exactly as the exported
snippet does (their source is copied there), and reach them only when a kernel runs.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    """Stands in for the module ``name`` and imports it at the first attribute looked up."""

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later look-ups skip __getattr__
        return getattr(module, attribute)


def lazy_import(name: str) -> Any:
    """The module ``name``, imported when one of its attributes is first used.

    ``tests/test_architecture.py`` counts ``lazy_import("x")`` as an import of ``x``.

    Example:
        >>> json = lazy_import("json")
        >>> json.dumps([1])
        '[1]'
    """
    return _LazyModule(name)
