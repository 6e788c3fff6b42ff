"""The op registry: ``register_op`` fills it, ``get_op`` and ``list_ops`` read it."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from autoaug.errors import PolicyError, did_you_mean

Kernel = Callable[[torch.Tensor, float, torch.Generator | None], torch.Tensor]

_OPS: dict[str, Op] = {}


@dataclass(frozen=True)
class Op:
    """An augmentation op: a kernel plus the real range its magnitude maps onto.

    A magnitude ``m`` in [0, 1] maps to the value ``low + m * (high - low)``; ``low`` is the
    identity or weakest setting, so ``low > high`` is allowed (posterize goes from 8 to 4 bits).

    Attributes:
        name: Registry name, used in policies and policy files.
        low: Value at magnitude 0.
        high: Value at magnitude 1.
        signed: Whether the value gets a random sign (p = 0.5) when the op is applied.
        kernel: ``kernel(image, value, generator)`` on one uint8 ``[C, H, W]`` image (C = 1 or 3),
            returning a new uint8 image of the same shape. Any extra randomness comes from
            ``generator``.
        description: What the value means, with its unit.
        uses_magnitude: False for ops that ignore the value (flips, equalize...).
    """

    name: str
    low: float
    high: float
    signed: bool
    kernel: Kernel
    description: str
    uses_magnitude: bool


def register_op(
    name: str,
    *,
    low: float = 0.0,
    high: float = 1.0,
    signed: bool = False,
    uses_magnitude: bool = True,
    description: str = "",
) -> Callable[[Kernel], Kernel]:
    """Register a kernel as the op ``name``; use it as a decorator.

    Kernels that should survive :func:`autoaug.policy.policy_to_snippet` must be plain functions
    using only ``torch``, ``math`` and ``torchvision.transforms.v2.functional as F``.

    Args:
        name: Unique op name.
        low: Value at magnitude 0 (the identity or weakest setting).
        high: Value at magnitude 1.
        signed: Give the value a random sign.
        uses_magnitude: Whether the kernel reads the value at all.
        description: What the value means, with its unit.

    Returns:
        A decorator that registers the kernel and returns it unchanged.

    Raises:
        PolicyError: If the name is taken or the range is not finite.

    Example:
        >>> @register_op("darken", low=1.0, high=0.5, description="brightness factor")
        ... def darken(image, factor, generator):
        ...     return F.adjust_brightness(image, factor)
    """
    if not name or not isinstance(name, str):
        raise PolicyError(f"op name must be a non-empty string, got {name!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise PolicyError(f"op {name!r}: range [{low}, {high}] must be finite")
    if uses_magnitude and low == high:
        raise PolicyError(f"op {name!r}: low and high are both {low}; the magnitude would do nothing")

    def decorator(kernel: Kernel) -> Kernel:
        if name in _OPS:
            taken = _OPS[name].kernel
            raise PolicyError(
                f"op {name!r} is already registered (by {taken.__module__}.{taken.__qualname__}); choose another name"
            )
        _OPS[name] = Op(
            name=name,
            low=float(low),
            high=float(high),
            signed=signed,
            kernel=kernel,
            description=description,
            uses_magnitude=uses_magnitude,
        )
        return kernel

    return decorator


def get_op(name: str) -> Op:
    """Return the registered op ``name``.

    Raises:
        PolicyError: If no such op exists; the message names close matches and the known ops.
    """
    try:
        return _OPS[name]
    except (KeyError, TypeError):
        pass
    raise PolicyError(
        f"unknown op {name!r}{did_you_mean(name, _OPS, cutoff=0.75)}; known ops: {', '.join(sorted(_OPS))}; "
        "register your own with autoaug.ops.register_op"
    )


def list_ops(pattern: str = "*") -> list[Op]:
    """Return the registered ops whose names match the glob ``pattern``, sorted by name.

    Example:
        >>> [op.name for op in list_ops("shear_*")]
        ['shear_x', 'shear_y']
    """
    return [_OPS[name] for name in sorted(_OPS) if fnmatch.fnmatchcase(name, pattern)]
