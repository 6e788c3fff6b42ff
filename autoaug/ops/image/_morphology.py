"""Morphological ops: grey-level dilation and erosion, which thicken or thin strokes.

The value (0 to 2) is a radius in pixels, rounded half up: magnitudes below 0.25 leave the image
alone, 0.25 to 0.75 filter over 3x3 pixels and from 0.75 over 5x5.

Kernels use only ``torch``, ``math`` and ``F``: their source is copied into exported snippets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from autoaug.ops._lazy import lazy_import
from autoaug.ops._registry import register_op

if TYPE_CHECKING:
    import torch
else:  # imported when a kernel first runs: listing the ops needs no torch
    torch = lazy_import("torch")


@register_op("dilate", high=2.0, description="radius of the square max filter in pixels, rounded half up")
def dilate(image: torch.Tensor, radius: float, generator: torch.Generator | None) -> torch.Tensor:
    """Replace each value by the maximum over a (2r+1)x(2r+1) square: bright strokes on dark grow by r pixels."""
    size = math.floor(radius + 0.5)
    if size <= 0:
        return image
    grown = torch.nn.functional.max_pool2d(image.float(), 2 * size + 1, stride=1, padding=size)
    return grown.to(torch.uint8)


@register_op("erode", high=2.0, description="radius of the square min filter in pixels, rounded half up")
def erode(image: torch.Tensor, radius: float, generator: torch.Generator | None) -> torch.Tensor:
    """Replace each value by the minimum over a (2r+1)x(2r+1) square: bright strokes on dark thin by r pixels."""
    size = math.floor(radius + 0.5)
    if size <= 0:
        return image
    shrunk = -torch.nn.functional.max_pool2d(-image.float(), 2 * size + 1, stride=1, padding=size)
    return shrunk.to(torch.uint8)
