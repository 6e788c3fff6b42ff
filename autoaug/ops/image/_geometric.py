"""Geometric ops: affine moves, flips, crops and warps (plus the identity).

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


@register_op("identity", uses_magnitude=False, description="no change")
def identity(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Return the image unchanged."""
    return image


@register_op("rotate", high=30.0, signed=True, description="rotation angle in degrees")
def rotate(image: torch.Tensor, degrees: float, generator: torch.Generator | None) -> torch.Tensor:
    """Rotate about the centre, filling with black."""
    return F.rotate(image, degrees, interpolation="bilinear")


@register_op("shear_x", high=0.3, signed=True, description="horizontal shear factor (tan of the angle)")
def shear_x(image: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
    """Shear along x about the top-left corner, as AutoAugment does."""
    shear = [math.degrees(math.atan(factor)), 0.0]
    return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=shear, interpolation="bilinear", center=[0, 0])


@register_op("shear_y", high=0.3, signed=True, description="vertical shear factor (tan of the angle)")
def shear_y(image: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
    """Shear along y about the top-left corner, as AutoAugment does."""
    shear = [0.0, math.degrees(math.atan(factor))]
    return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=shear, interpolation="bilinear", center=[0, 0])


@register_op("translate_x", high=0.45, signed=True, description="horizontal shift as a fraction of the width")
def translate_x(image: torch.Tensor, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """Shift right (or left) by whole pixels, filling with black."""
    shift = [round(fraction * image.shape[-1]), 0]
    return F.affine(image, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0])


@register_op("translate_y", high=0.45, signed=True, description="vertical shift as a fraction of the height")
def translate_y(image: torch.Tensor, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """Shift down (or up) by whole pixels, filling with black."""
    shift = [0, round(fraction * image.shape[-2])]
    return F.affine(image, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0])


@register_op("hflip", uses_magnitude=False, description="mirror left-right")
def hflip(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Mirror left-right."""
    return F.horizontal_flip(image)


@register_op("vflip", uses_magnitude=False, description="mirror top-bottom")
def vflip(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Mirror top-bottom."""
    return F.vertical_flip(image)


@register_op(
    "random_resized_crop",
    high=0.75,
    description="largest fraction of the area cut away; the aspect ratio varies up to 3:4 / 4:3 at 1",
)
def random_resized_crop(image: torch.Tensor, cut: float, generator: torch.Generator | None) -> torch.Tensor:
    """Crop a random box of at least ``1 - cut`` of the area and resize it back to full size."""
    height, width = image.shape[-2:]
    area, ratio, top, left = torch.rand(4, generator=generator).tolist()
    scale = 1.0 - cut * area
    aspect = math.exp((2.0 * ratio - 1.0) * cut * math.log(4.0 / 3.0))
    crop_h = min(height, max(1, round(height * math.sqrt(scale / aspect))))
    crop_w = min(width, max(1, round(width * math.sqrt(scale * aspect))))
    top, left = int(top * (height - crop_h + 1)), int(left * (width - crop_w + 1))
    return F.resized_crop(image, top, left, crop_h, crop_w, [height, width], antialias=True)


def zoom(image: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
    """Scale about the centre by ``factor``: above 1 the border is cut away, below 1 a black border comes in."""
    return F.affine(image, angle=0.0, translate=[0, 0], scale=factor, shear=[0.0, 0.0], interpolation="bilinear")


# One kernel, two ops: objects may need to fill more of the frame or less, and a signed op would mix both.
register_op("zoom_in", low=1.0, high=1.6, description="scale factor about the centre (1.6: the middle 62% fills it)")(zoom)
register_op("zoom_out", low=1.0, high=0.6, description="scale factor about the centre (0.6: shrunk, black border)")(zoom)


@register_op(
    "perspective", high=0.5, description="distortion scale: corners move inwards by up to this half-size fraction"
)
def perspective(image: torch.Tensor, distortion: float, generator: torch.Generator | None) -> torch.Tensor:
    """Move each corner inwards at random, as RandomPerspective does, filling with black."""
    right, bottom = image.shape[-1] - 1, image.shape[-2] - 1
    dx, dy = distortion * image.shape[-1] / 2, distortion * image.shape[-2] / 2
    r = torch.rand(8, generator=generator).tolist()
    start = [[0, 0], [right, 0], [right, bottom], [0, bottom]]
    end = [
        [r[0] * dx, r[1] * dy],
        [right - r[2] * dx, r[3] * dy],
        [right - r[4] * dx, bottom - r[5] * dy],
        [r[6] * dx, bottom - r[7] * dy],
    ]
    return F.perspective(image, start, end, interpolation="bilinear")


@register_op("elastic", high=0.1, description="largest pixel displacement as a fraction of the image size")
def elastic(image: torch.Tensor, strength: float, generator: torch.Generator | None) -> torch.Tensor:
    """Warp with a smooth random displacement field (Gaussian-blurred noise, sigma 10% of the size)."""
    height, width = image.shape[-2:]
    sigma = 0.1 * min(height, width)
    size = 2 * math.ceil(3 * sigma) + 1
    noise = torch.rand(2, height, width, generator=generator) * 2 - 1
    field = F.gaussian_blur(noise, [size, size], [sigma, sigma])
    # Normalise so that ``strength`` is the largest displacement; grid units span 2 per image side.
    field = field * (2 * strength / field.abs().amax().clamp_min(1e-12))
    return F.elastic(image, field.permute(1, 2, 0).unsqueeze(0).to(image.device), interpolation="bilinear")
