"""The torchvision export: stock ``torchvision.transforms.v2`` transforms, which call the same functions as the ops."""

from __future__ import annotations

import math
from typing import Any

from autoaug.modalities.image._interop._library import (
    DRAWN_BITS,
    DRAWN_SIGMA,
    Containers,
    Library,
    ValueRenderer,
    block,
    fixed,
    number,
    pair,
    thresholded,
)
from autoaug.modalities.image._interop._reading import Values

# fill=None pads with zeros as the ops do; fill=0 would also blend the edge with a sampled mask.
BILINEAR = "interpolation=v2.InterpolationMode.BILINEAR, fill=None"
CONTAINERS = Containers(
    sequence=lambda items: block("v2.Compose([", items, "])"),
    choice=lambda items: block("v2.RandomChoice([", items, "])"),
    apply=lambda item, p: block("v2.RandomApply([", [item], f"], p={number(p)})"),
    identity="v2.Identity()",
    top=lambda items: block("v2.Compose([", items, "])"),
)


def _jitter(key: str) -> ValueRenderer:
    """ColorJitter draws the factor ``1 + value`` uniformly, as the op draws its value."""
    return lambda values: f"v2.ColorJitter({key}={pair(1 + values.low, 1 + values.high)})"


def _shear(axis: int) -> ValueRenderer:
    def render(factor: float) -> str:
        angle = number(math.degrees(math.atan(factor)))
        shear = f"({angle}, {angle})" if axis == 0 else f"(0.0, 0.0, {angle}, {angle})"
        return f"v2.RandomAffine(degrees=0.0, shear={shear}, {BILINEAR}, center=[0.0, 0.0])"

    return fixed(render)


def _translate(axis: int) -> ValueRenderer:
    """RandomAffine shifts by ``round(uniform(-r, r) * size)`` pixels, as the op does at a drawn magnitude."""

    def render(values: Values) -> str | None:
        if values.fixed or values.low != -values.high:
            return None
        translate = (number(values.high), "0.0")[:: 1 if axis == 0 else -1]
        return f"v2.RandomAffine(degrees=0.0, translate=({', '.join(translate)}), fill=None)"

    return render


def stock(name: str, kwargs: dict[str, Any]) -> str:
    """The stock torchvision transform itself (as ``make_stock_transform`` builds it)."""
    arguments = [
        f"{key}=v2.AutoAugmentPolicy({value!r})" if (name, key) == ("AutoAugment", "policy") else f"{key}={value!r}"
        for key, value in kwargs.items()
    ]
    return f"v2.{name}({', '.join(arguments)})"


TABLE: dict[str, ValueRenderer] = {
    "identity": lambda values: "v2.Identity()",
    "hflip": lambda values: "v2.RandomHorizontalFlip(p=1.0)",
    "vflip": lambda values: "v2.RandomVerticalFlip(p=1.0)",
    "rotate": lambda values: f"v2.RandomRotation(degrees={pair(values.low, values.high)}, {BILINEAR})",
    "shear_x": _shear(0),
    "shear_y": _shear(1),
    "translate_x": _translate(0),
    "translate_y": _translate(1),
    "zoom_in": lambda values: f"v2.RandomAffine(degrees=0.0, scale={pair(values.low, values.high)}, {BILINEAR})",
    "zoom_out": lambda values: f"v2.RandomAffine(degrees=0.0, scale={pair(values.low, values.high)}, {BILINEAR})",
    "brightness": _jitter("brightness"),
    "contrast": _jitter("contrast"),
    "saturation": _jitter("saturation"),
    "hue": lambda values: f"v2.ColorJitter(hue={pair(values.low, values.high)})",
    "sharpness": fixed(lambda value: f"v2.RandomAdjustSharpness(sharpness_factor={number(1 + value)}, p=1.0)"),
    "autocontrast": lambda values: "v2.RandomAutocontrast(p=1.0)",
    "equalize": lambda values: "v2.RandomEqualize(p=1.0)",
    "invert": lambda values: "v2.RandomInvert(p=1.0)",
    "grayscale": lambda values: "v2.RandomGrayscale(p=1.0)",
    **thresholded(
        CONTAINERS.identity,
        blur=lambda size, sigma: f"v2.GaussianBlur(kernel_size={size}, sigma={pair(sigma, sigma)})",
        posterize=lambda bits: f"v2.RandomPosterize(bits={bits}, p=1.0)",
        solarize=lambda threshold: f"v2.RandomSolarize(threshold={number(threshold)}, p=1.0)",
    ),
    "jpeg": fixed(lambda quality: f"v2.JPEG(quality={round(quality)})"),
}

TORCHVISION = Library(
    name="torchvision",
    steps=CONTAINERS.steps(TABLE),
    reasons={
        "shear_x drawn": "RandomAffine draws the shear angle uniformly, autoaug its tangent",
        "shear_y drawn": "RandomAffine draws the shear angle uniformly, autoaug its tangent",
        "translate_x": "no torchvision transform shifts by a fixed amount (RandomAffine draws the shift)",
        "translate_y": "no torchvision transform shifts by a fixed amount (RandomAffine draws the shift)",
        "sharpness drawn": "RandomAdjustSharpness takes one factor",
        "posterize drawn": DRAWN_BITS,
        "solarize drawn": "RandomSolarize takes one threshold",
        "gaussian_blur drawn": DRAWN_SIGMA,
        "jpeg drawn": "JPEG draws whole qualities uniformly, autoaug rounds a uniform quality (half weight at the ends)",
        "gamma": "torchvision has no random gamma transform",
    },
    stock=stock,
    imports="from torchvision.transforms import v2\n",
    usage=(
        "Input: a PIL image (mode L or RGB) or a uint8 tensor [C, H, W], one image per call (v2 transforms draw once "
        "per call, so a batch [B, C, H, W] would share its draws). The transforms call the same torchvision "
        "functions as autoaug's ops, so each image's output has autoaug's distribution; they draw their parameters "
        "as float32, so outputs match to 1 grey level. The draws come from torch's global generator "
        "(torch.manual_seed), in another order than autoaug's."
    ),
    signature="def build_policy() -> v2.Transform:",
    body=CONTAINERS.body,
)
