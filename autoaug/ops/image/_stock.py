"""torchvision's auto-augment transforms as stock transforms of the image modality, with bounded arguments.

torchvision checks few of their whole-number arguments, and a huge op count or bin number hangs or
exhausts memory at the first image, so each argument is bounded to its real range first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autoaug.errors import PolicyError
from autoaug.ops._lazy import lazy_import
from autoaug.ops._stock import register_stock_transform

if TYPE_CHECKING:
    from torchvision.transforms import v2
else:  # imported when a stock transform is first built: listing the ops needs no torch
    v2 = lazy_import("torchvision.transforms.v2")

MAX_STOCK_OPS = 10
"""The most ops one image gets from RandAugment (and from a ``rand`` policy)."""
# The whole-number arguments and their real ranges (inclusive). RandAugment's magnitude is a bin index:
# 0 to num_magnitude_bins - 1. AugMix's chain_depth -1 draws a depth of 1 to 3.
_WHOLE = {
    "RandAugment": {"num_ops": (1, MAX_STOCK_OPS), "num_magnitude_bins": (2, 100)},
    "TrivialAugmentWide": {"num_magnitude_bins": (2, 100)},
    "AugMix": {"severity": (1, 10), "mixture_width": (1, 10), "chain_depth": (-1, 10)},
}
_DEFAULT_BINS = 31


def _whole_in(value: Any, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def _number_in(value: Any, low: float, high: float) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and low <= value <= high


def _check_arguments(name: str, kwargs: Mapping[str, Any]) -> None:
    """Bound every argument of the stock transform ``name`` to its real range."""
    whole = dict(_WHOLE.get(name, {}))
    if name == "RandAugment":
        bins = kwargs.get("num_magnitude_bins", _DEFAULT_BINS)
        whole["magnitude"] = (0, bins - 1 if _whole_in(bins, 2, 100) else _DEFAULT_BINS - 1)
    for key, (low, high) in whole.items():
        if key in kwargs and not _whole_in(kwargs[key], low, high):
            raise PolicyError(
                f"kwargs.{key}: expected a whole number from {low} to {high} for {name}, got {kwargs[key]!r}"
            )
    alpha = kwargs.get("alpha", 1.0)
    if name == "AugMix" and not (_number_in(alpha, 0, 100) and alpha > 0):
        raise PolicyError(f"kwargs.alpha: expected a number from 0 (excluded) to 100, got {alpha!r}")
    if "all_ops" in kwargs and not isinstance(kwargs["all_ops"], bool):
        raise PolicyError(f"kwargs.all_ops: expected true or false, got {kwargs['all_ops']!r}")
    fill = kwargs.get("fill")
    values = fill if isinstance(fill, list) and len(fill) in (1, 3) else [fill]
    if fill is not None and not all(_number_in(value, 0, 255) for value in values):
        raise PolicyError(
            f"kwargs.fill: expected null, a number or a list of 1 or 3 numbers from 0 to 255, got {fill!r}"
        )


def make_stock_transform(name: str, kwargs: dict[str, Any]) -> v2.Transform:
    """Instantiate the torchvision auto-augment transform ``name`` from JSON-style keyword arguments."""
    if name == "AutoAugment" and "policy" in kwargs:
        kwargs = {**kwargs, "policy": v2.AutoAugmentPolicy(kwargs["policy"])}
    return getattr(v2, name)(**kwargs)


def _checker(name: str) -> Any:
    def check(kwargs: Mapping[str, Any]) -> None:
        _check_arguments(name, kwargs)
        try:
            make_stock_transform(name, dict(kwargs))
        except (TypeError, ValueError) as error:
            raise PolicyError(f"kwargs: torchvision's {name} rejects {dict(kwargs)}: {error}") from None

    return check


for _name in ("TrivialAugmentWide", "RandAugment", "AutoAugment", "AugMix"):
    register_stock_transform(_name, check=_checker(_name), make=make_stock_transform)
