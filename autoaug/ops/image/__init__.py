"""The image ops: kernels on uint8 [C, H, W] images and torchvision's stock transforms, registered on import."""

from __future__ import annotations

from autoaug.ops.image import _color, _degrade, _geometric, _morphology  # noqa: F401
from autoaug.ops.image._stock import MAX_STOCK_OPS, make_stock_transform

__all__ = ["MAX_STOCK_OPS", "make_stock_transform"]
