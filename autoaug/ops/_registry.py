"""The op registry: ``register_op`` fills it, ``get_op`` and ``list_ops`` read it.

Ops are registered per modality: an image op and a signal op may share a name. Policies, search spaces
and modalities look ops up by name within their own modality.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autoaug.errors import PolicyError, did_you_mean
from autoaug.vocabulary import DEFAULT_MODALITY

Kernel = Callable[..., Any]
"""An op's kernel; its signature is the modality's (an image kernel: ``kernel(image, value, generator)``)."""

_OPS: dict[tuple[str, str], Op] = {}  # (modality, name) -> op


@dataclass(frozen=True)
class Op:
    """An augmentation op: a kernel plus the real range its magnitude maps onto.

    A magnitude ``m`` in [0, 1] maps to the value ``low + m * (high - low)``; ``low`` is the
    identity or weakest setting, so ``low > high`` is allowed (posterize goes from 8 to 4 bits).

    Attributes:
        name: Registry name, used in policies and policy files.
        modality: The kind of data the kernel works on (``"image"``: one uint8 ``[C, H, W]`` image).
        low: Value at magnitude 0.
        high: Value at magnitude 1.
        signed: Whether the value gets a random sign (p = 0.5) when the op is applied.
        kernel: For an image op, ``kernel(image, value, generator)`` on one uint8 ``[C, H, W]`` image
            (C = 1 or 3), returning a new uint8 image of the same shape; other modalities document
            their own. Any extra randomness comes from ``generator``.
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
    modality: str = DEFAULT_MODALITY


def register_op(
    name: str,
    *,
    modality: str = DEFAULT_MODALITY,
    low: float = 0.0,
    high: float = 1.0,
    signed: bool = False,
    uses_magnitude: bool = True,
    description: str = "",
) -> Callable[[Kernel], Kernel]:
    """Register a kernel as the op ``name``; use it as a decorator.

    Image kernels that should survive :func:`autoaug.modalities.image.policy_to_snippet` must be plain
    functions using only ``torch``, ``math`` and ``torchvision.transforms.v2.functional as F``.

    Args:
        name: Op name, unique within its modality.
        modality: The modality whose data the kernel works on.
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
        if (modality, name) in _OPS:
            taken = _OPS[modality, name].kernel
            raise PolicyError(
                f"op {name!r} is already registered (by {taken.__module__}.{taken.__qualname__}); choose another name"
            )
        _OPS[modality, name] = Op(
            name=name,
            low=float(low),
            high=float(high),
            signed=signed,
            kernel=kernel,
            description=description,
            uses_magnitude=uses_magnitude,
            modality=modality,
        )
        return kernel

    return decorator


def _names(modality: str | None) -> list[str]:
    return sorted({name for (kind, name) in _OPS if modality is None or kind == modality})


def _unknown(name: object, modality: str | None) -> PolicyError:
    names = _names(modality)
    if not names:
        return PolicyError(
            f"unknown op {name!r}: no op is registered for modality {modality!r}; "
            "register one with autoaug.ops.register_op(..., modality=...)"
        )
    return PolicyError(
        f"unknown op {name!r}{did_you_mean(name, names, cutoff=0.75)}; known ops: {', '.join(names)}; "
        "register your own with autoaug.ops.register_op"
    )


def get_op(name: str, modality: str = DEFAULT_MODALITY) -> Op:
    """Return the op ``name`` registered for ``modality``.

    Raises:
        PolicyError: If no such op exists; the message names close matches and the known ops.
    """
    try:
        return _OPS[modality, name]
    except (KeyError, TypeError):
        raise _unknown(name, modality) from None


def check_op_name(name: str) -> None:
    """Check that some modality registered an op called ``name`` (which one is its policy's to say).

    Raises:
        PolicyError: If none did; the message names close matches and the known ops.
    """
    if not any(name == known for (_, known) in _OPS):
        raise _unknown(name, None)


def list_ops(pattern: str = "*", modality: str = DEFAULT_MODALITY) -> list[Op]:
    """Return the ops of ``modality`` whose names match the glob ``pattern``, sorted by name.

    Example:
        >>> [op.name for op in list_ops("shear_*")]
        ['shear_x', 'shear_y']
    """
    return [_OPS[modality, name] for name in _names(modality) if fnmatch.fnmatchcase(name, pattern)]
