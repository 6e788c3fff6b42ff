"""Stock transforms: whole augmentation policies a library ships (torchvision's RandAugment...), by name.

A policy of structure ``torchvision`` or ``stacked`` names one with its keyword arguments; the
modality registers each stock transform it can build, with the check of its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from autoaug.errors import PolicyError
from autoaug.vocabulary import DEFAULT_MODALITY

_STOCK: dict[tuple[str, str], StockTransform] = {}  # (modality, name) -> stock transform


@dataclass(frozen=True)
class StockTransform:
    """A stock transform a policy can name.

    Attributes:
        name: Its name in policy files (torchvision's class name for the image modality).
        modality: The modality that builds it.
        check: Raises :class:`PolicyError` naming ``kwargs.<key>`` when the keyword arguments are
            out of range or rejected; must not hang on huge values.
        make: Builds it from JSON-style keyword arguments.
    """

    name: str
    modality: str
    check: Callable[[Mapping[str, Any]], None]
    make: Callable[[str, dict[str, Any]], Any]


def register_stock_transform(
    name: str,
    *,
    check: Callable[[Mapping[str, Any]], None],
    make: Callable[[str, dict[str, Any]], Any],
    modality: str = DEFAULT_MODALITY,
) -> None:
    """Make the stock transform ``name`` of ``modality`` available to policies.

    Raises:
        PolicyError: If the name is taken for that modality.
    """
    if (modality, name) in _STOCK:
        raise PolicyError(f"stock transform {name!r} is already registered for modality {modality!r}")
    _STOCK[modality, name] = StockTransform(name, modality, check, make)


def get_stock_transform(name: str, modality: str = DEFAULT_MODALITY) -> StockTransform:
    """Return the stock transform ``name`` of ``modality``.

    Raises:
        PolicyError: If there is none, listing the known ones.
    """
    if isinstance(name, str) and (modality, name) in _STOCK:
        return _STOCK[modality, name]
    known = ", ".join(known for (kind, known) in _STOCK if kind == modality)
    expected = f"one of {known}" if known else f"a stock transform of modality {modality!r} (none is registered)"
    raise PolicyError(f"transform: expected {expected}, got {name!r}")
