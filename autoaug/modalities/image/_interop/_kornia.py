"""The kornia export: ``kornia.augmentation`` transforms on float [B, C, H, W] tensors in [0, 1], GPU-ready."""

from __future__ import annotations

import math

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

_IDENTITY = "nn.Identity()"
_WARP = 'resample="bilinear", align_corners=False'
CONTAINERS = Containers(
    sequence=lambda items: block("K.ImageSequential(", items, ")"),
    choice=lambda items: block("K.ImageSequential(", [*items, "random_apply=1"], ")"),
    apply=lambda item, p: block(
        "K.ImageSequential(", [item, _IDENTITY, "random_apply=1", f"random_apply_weights=[{number(p)}, {number(1 - p)}]"], ")"
    ),
    identity=_IDENTITY,
    top=lambda items: block("K.AugmentationSequential(", items, ")"),
)


def _jitter(key: str) -> ValueRenderer:
    """ColorJitter (torchvision's formulas, unlike ColorJiggle) draws the factor ``1 + value`` uniformly."""
    return lambda values: f"K.ColorJitter({key}={pair(1 + values.low, 1 + values.high)}, p=1.0)"


TABLE: dict[str, ValueRenderer] = {
    "identity": lambda values: _IDENTITY,
    "hflip": lambda values: "K.RandomHorizontalFlip(p=1.0)",
    "vflip": lambda values: "K.RandomVerticalFlip(p=1.0)",
    "rotate": lambda values: f"K.RandomRotation(degrees={pair(values.low, values.high)}, {_WARP}, p=1.0)",
    "zoom_in": lambda values: f"K.RandomAffine(degrees=0.0, scale={pair(values.low, values.high)}, {_WARP}, p=1.0)",
    "zoom_out": lambda values: f"K.RandomAffine(degrees=0.0, scale={pair(values.low, values.high)}, {_WARP}, p=1.0)",
    "brightness": _jitter("brightness"),
    "contrast": _jitter("contrast"),
    "saturation": _jitter("saturation"),
    "hue": lambda values: f"K.ColorJitter(hue={pair(values.low, values.high)}, p=1.0)",
    "sharpness": lambda values: f"K.RandomSharpness(sharpness={pair(1 + values.low, 1 + values.high)}, p=1.0)",
    "gamma": fixed(lambda value: f"K.RandomGamma(gamma={pair(math.exp(value), math.exp(value))}, p=1.0)"),
    "autocontrast": lambda values: "K.RandomAutoContrast(p=1.0)",
    "equalize": lambda values: "K.RandomEqualize(p=1.0)",
    "invert": lambda values: "K.RandomInvert(p=1.0)",
    "grayscale": lambda values: "K.RandomGrayscale(p=1.0)",
    **thresholded(
        _IDENTITY,
        blur=lambda size, sigma: (
            f'K.RandomGaussianBlur(kernel_size=({size}, {size}), sigma={pair(sigma, sigma)}, border_type="reflect", p=1.0)'
        ),
        # A whole number x of bits would draw from (x, 8): a pair fixes it.
        posterize=lambda bits: f"K.RandomPosterize(bits=({bits}, {bits}), p=1.0)",
        solarize=lambda threshold: (
            f"K.RandomSolarize(thresholds={pair(threshold / 255, threshold / 255)}, additions=(0.0, 0.0), p=1.0)"
        ),
    ),
}

_CENTRE = "kornia shears about the image centre, autoaug about the top-left corner"
_SHIFT = "kornia shifts by fractions of a pixel with interpolation, autoaug by whole pixels"
KORNIA = Library(
    name="kornia",
    steps=CONTAINERS.steps(TABLE),
    reasons={
        "shear_x": _CENTRE,
        "shear_y": _CENTRE,
        "translate_x": _SHIFT,
        "translate_y": _SHIFT,
        "gamma drawn": "RandomGamma draws gamma uniformly, autoaug its logarithm",
        "jpeg": "RandomJPEG is a differentiable approximation of JPEG",
        "posterize drawn": DRAWN_BITS,
        "solarize drawn": "autoaug's drawn threshold reaches 256/255, beyond RandomSolarize's range",
        "gaussian_blur drawn": DRAWN_SIGMA,
    },
    stock=None,
    imports="import kornia.augmentation as K\nfrom torch import nn\n",
    usage=(
        "Input: a float tensor [B, C, H, W] in [0, 1] (v2.ToDtype(torch.float32, scale=True) of the uint8 image), on "
        "any device. Values and probabilities of single transforms are drawn per image; which branch of a choice "
        "runs (a sub-policy, a sign, whether a step fires) is drawn once per call by kornia's containers, so call it "
        "on one image [1, C, H, W] for autoaug's per-image draws (on a batch, each image still has autoaug's "
        "distribution, but those choices are shared). Draws come from torch's global generator. Outputs, times 255 "
        "and rounded, match autoaug's ops to 1 grey level, 2 for saturation (float arithmetic instead of uint8; "
        "torchvision truncates the grey image it blends with)."
    ),
    signature="def build_policy() -> K.AugmentationSequential:",
    body=CONTAINERS.body,
)
