"""Photometric ops: brightness, contrast, colour, colour casts, tone curves and histogram tricks.

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


@register_op("brightness", high=0.9, signed=True, description="brightness factor 1 +- value")
def brightness(image: torch.Tensor, delta: float, generator: torch.Generator | None) -> torch.Tensor:
    """Scale intensities by ``1 + delta``."""
    return F.adjust_brightness(image, 1.0 + delta)


@register_op("contrast", high=0.9, signed=True, description="contrast factor 1 +- value")
def contrast(image: torch.Tensor, delta: float, generator: torch.Generator | None) -> torch.Tensor:
    """Blend with the mean grey level by ``1 + delta``."""
    return F.adjust_contrast(image, 1.0 + delta)


@register_op("saturation", high=0.9, signed=True, description="saturation factor 1 +- value (AutoAugment's Color)")
def saturation(image: torch.Tensor, delta: float, generator: torch.Generator | None) -> torch.Tensor:
    """Blend with the greyscale image by ``1 + delta``; single-channel images are unchanged."""
    return F.adjust_saturation(image, 1.0 + delta)


@register_op("sharpness", high=0.9, signed=True, description="sharpness factor 1 +- value")
def sharpness(image: torch.Tensor, delta: float, generator: torch.Generator | None) -> torch.Tensor:
    """Blend with a smoothed image by ``1 + delta``."""
    return F.adjust_sharpness(image, 1.0 + delta)


@register_op("hue", high=0.3, signed=True, description="hue shift as a fraction of the colour circle")
def hue(image: torch.Tensor, shift: float, generator: torch.Generator | None) -> torch.Tensor:
    """Rotate the hue; single-channel images are unchanged."""
    return F.adjust_hue(image, shift)


@register_op("tint", high=1.0, description="strength of a random colour cast (1: white becomes the colour)")
def tint(image: torch.Tensor, strength: float, generator: torch.Generator | None) -> torch.Tensor:
    """Multiply the channels by gains ``1 - strength * (1 - colour)`` for a random colour with a full channel.

    Black stays black and white turns towards the colour, so grey images come out coloured;
    single-channel images are unchanged.
    """
    if strength <= 0 or image.shape[-3] == 1:
        return image
    colour = torch.rand(image.shape[-3], generator=generator)
    colour = colour / colour.max()
    gains = (1.0 - strength * (1.0 - colour)).to(image.device)
    return (image * gains[:, None, None]).round_().clamp_(0, 255).to(torch.uint8)


@register_op("gamma", high=0.7, signed=True, description="log of the gamma exponent (0.7: gamma 0.5 to 2)")
def gamma(image: torch.Tensor, log_gamma: float, generator: torch.Generator | None) -> torch.Tensor:
    """Apply the tone curve ``x ** exp(log_gamma)``."""
    return F.adjust_gamma(image, math.exp(log_gamma))


@register_op("autocontrast", uses_magnitude=False, description="stretch each channel to the full range")
def autocontrast(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Stretch each channel to [0, 255]."""
    return F.autocontrast(image)


@register_op("equalize", uses_magnitude=False, description="equalize the histogram of each channel")
def equalize(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Equalize the histogram of each channel."""
    return F.equalize(image)


@register_op("posterize", low=8.0, high=4.0, description="bits kept per channel (rounded)")
def posterize(image: torch.Tensor, bits: float, generator: torch.Generator | None) -> torch.Tensor:
    """Keep the top ``round(bits)`` bits of each value."""
    return F.posterize(image, round(bits))


@register_op("solarize", low=256.0, high=128.0, description="threshold at and above which values are inverted")
def solarize(image: torch.Tensor, threshold: float, generator: torch.Generator | None) -> torch.Tensor:
    """Invert the values at or above ``threshold`` (256 inverts nothing)."""
    return torch.where(image >= threshold, 255 - image, image)


@register_op("invert", uses_magnitude=False, description="negative image")
def invert(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Return ``255 - image``."""
    return F.invert(image)


@register_op("grayscale", uses_magnitude=False, description="drop the colour, keeping the channel count")
def grayscale(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    """Convert to grey while keeping the number of channels."""
    return F.rgb_to_grayscale(image, num_output_channels=image.shape[-3])
