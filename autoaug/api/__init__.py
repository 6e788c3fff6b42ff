"""The Python API: what the command line does, as functions for notebooks and training code.

Example:
    >>> from autoaug.api import load_policy
    >>> transform = load_policy("runs:/0123456789abcdef0123456789abcdef/policy.json")  # doctest: +SKIP
"""

from __future__ import annotations

from autoaug.api._load import load_policy

__all__ = ["load_policy"]
