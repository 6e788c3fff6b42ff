"""Typed exceptions: every user-facing failure is an :class:`AutoaugError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AutoaugError(Exception):
    """Root of all errors autoaug raises for bad input or configuration."""


class PolicyError(AutoaugError):
    """A policy file or policy object is malformed (unknown op, out-of-range value...)."""


class ExportError(PolicyError):
    """A policy has no exact counterpart in the library it is exported to (the message names each op)."""


class SpaceError(AutoaugError):
    """A search-space file is invalid."""


class ConfigError(AutoaugError):
    """A search configuration (file or flags) is invalid."""


class DataError(AutoaugError):
    """Training or target data cannot be used as given."""


class BackboneError(AutoaugError):
    """A backbone name or its pre-trained weights cannot be resolved."""


class MeasureError(AutoaugError):
    """A diversity or relevance measure is undefined for the given data (e.g. a reference scores 0)."""


def did_you_mean(name: object, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``" (did you mean 'a' or 'b'?)"`` for the known names close to ``name``, or ``""`` if none is.

    Example:
        >>> did_you_mean("rotat", ["rotate", "shear_x"])
        " (did you mean 'rotate'?)"
    """
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=cutoff)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
