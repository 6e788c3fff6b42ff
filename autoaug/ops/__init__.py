"""Augmentation ops: registries of kernels per modality, each op with the real range its magnitude maps onto.

The image modality's ops (``autoaug.ops.image``) and stock transforms register on import.

Example:
    >>> from autoaug.ops import get_op, list_ops
    >>> get_op("rotate").high
    30.0
    >>> [op.name for op in list_ops("translate_*")]
    ['translate_x', 'translate_y']
"""

from __future__ import annotations

from autoaug.ops import embedding, image  # noqa: F401  (registers the image and embedding ops)
from autoaug.ops._registry import Op, check_op_name, get_op, list_ops, register_op
from autoaug.ops._stock import StockTransform, get_stock_transform, register_stock_transform

__all__ = [
    "Op",
    "StockTransform",
    "check_op_name",
    "get_op",
    "get_stock_transform",
    "list_ops",
    "register_op",
    "register_stock_transform",
]
