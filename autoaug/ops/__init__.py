"""Augmentation ops: a registry of kernels, each with the real range its magnitude maps onto.

Example:
    >>> from autoaug.ops import get_op, list_ops
    >>> get_op("rotate").high
    30.0
    >>> [op.name for op in list_ops("translate_*")]
    ['translate_x', 'translate_y']
"""

from __future__ import annotations

# The image ops register their kernels on import.
from autoaug.ops import image  # noqa: F401
from autoaug.ops._registry import Op, get_op, list_ops, register_op

__all__ = ["Op", "get_op", "list_ops", "register_op"]
