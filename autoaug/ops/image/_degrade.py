"""Degradation ops: blur, noise, low resolution, compression and occlusion.

Kernels use only ``torch``, ``math`` and ``F``: their source is copied into exported snippets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from autoaug.ops._lazy import lazy_import
from autoaug.ops._registry import register_op

if TYPE_CHECKING:
    import torch
    from torchvision.transforms.v2 import functional as F
else:  # imported when a kernel first runs: listing the ops needs no torch
    torch = lazy_import("torch")
    F = lazy_import("torchvision.transforms.v2.functional")


@register_op("gaussian_blur", high=2.0, description="blur sigma in pixels")
def gaussian_blur(image: torch.Tensor, sigma: float, generator: torch.Generator | None) -> torch.Tensor:
    """Blur with a Gaussian of standard deviation ``sigma`` (a kernel of 3 sigma each side)."""
    if sigma <= 0:
        return image
    # Reflect padding needs the radius to stay below the image size.
    radius = min(math.ceil(3 * sigma), min(image.shape[-2:]) - 1)
    return F.gaussian_blur(image, [2 * radius + 1] * 2, [sigma, sigma])


@register_op("gaussian_noise", high=0.2, description="noise standard deviation in units of the full range [0, 1]")
def gaussian_noise(image: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    """Add independent Gaussian noise to every value, rounding and clipping to uint8."""
    noise = torch.randn(image.shape, generator=generator).to(image.device) * (255.0 * std)
    return (image + noise).round_().clamp_(0, 255).to(torch.uint8)


@register_op(
    "downscale",
    low=1.0,
    high=0.2,
    description="size fraction the image is shrunk to before it is scaled back up (0.25: 32 px to 8 px)",
)
def downscale(image: torch.Tensor, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """Shrink with antialiasing and scale back up bilinearly, as a low-resolution scanner would."""
    height, width = image.shape[-2:]
    small = [max(1, round(height * fraction)), max(1, round(width * fraction))]
    return F.resize(F.resize(image, small, antialias=True), [height, width], antialias=True)


@register_op("jpeg", low=100.0, high=10.0, description="JPEG quality (rounded)")
def jpeg(image: torch.Tensor, quality: float, generator: torch.Generator | None) -> torch.Tensor:
    """Encode and decode as JPEG at the given quality."""
    return F.jpeg(image, round(quality))


@register_op("erasing", high=0.5, description="side of the erased square as a fraction of the shorter side")
def erasing(image: torch.Tensor, side: float, generator: torch.Generator | None) -> torch.Tensor:
    """Fill a square at a random place with mid grey (128), as Cutout does."""
    height, width = image.shape[-2:]
    size = round(side * min(height, width))
    top, left = torch.rand(2, generator=generator).tolist()
    top, left = int(top * (height - size + 1)), int(left * (width - size + 1))
    erased = image.clone()
    erased[..., top : top + size, left : left + size] = 128
    return erased
