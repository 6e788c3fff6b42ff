"""Typed exceptions: every user-facing failure is an :class:`AutoaugError`."""

from __future__ import annotations


class AutoaugError(Exception):
    """Root of all errors autoaug raises for bad input or configuration."""


class PolicyError(AutoaugError):
    """A policy file or policy object is malformed (unknown op, out-of-range value...)."""


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
