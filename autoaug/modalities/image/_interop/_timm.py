"""The timm export: ``timm.data.auto_augment`` ops (PIL) in its ``AutoAugment`` container; colour and tone ops only.

timm's ``AugmentOp(name, prob, magnitude)`` fires with ``prob`` and maps a level in [0, 10] to its value, some
with a random sign; ``magnitude_std=inf`` draws the level uniformly in [0, magnitude]. ``AutoAugment`` picks one
sub-policy uniformly and runs its ops in order: one autoaug round.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from autoaug.modalities.image._interop._library import DRAWN_BITS, Library, StepRenderer, block, number
from autoaug.modalities.image._interop._reading import Step

# autoaug op: (timm op, the value at level 10); both draw the sign with probability 1/2.
_SIGNED = {
    "brightness": ("BrightnessIncreasing", 0.9),
    "contrast": ("ContrastIncreasing", 0.9),
    "saturation": ("ColorIncreasing", 0.9),
    "sharpness": ("SharpnessIncreasing", 0.9),
}


def _op(name: str, step: Step, level: float, drawn: bool = False) -> str:
    return f'AugmentOp("{name}", prob={number(step.probability)}, magnitude={number(level)}, hparams={"DRAWN" if drawn else "HPARAMS"})'


def _signed(name: str, top: float) -> StepRenderer:
    """A level of ``10 * |value| / top`` with timm's random sign; at a drawn magnitude, the level drawn in [0, 10]."""

    def render(step: Step) -> str | None:
        if step.drawn:
            exact = step.branches == step.branches[:1] and (step.branches[0].low, step.branches[0].high) == (-top, top)
            return _op(name, step, 10.0, drawn=True) if exact else None
        value = abs(step.branches[0].low)
        return _op(name, step, 10 * value / top) if (step.sign_drawn or value == 0) and value <= top else None

    return render


def _fixed(render: Callable[[Step, float], str | None]) -> StepRenderer:
    return lambda step: None if step.drawn else render(step, step.branches[0].low)


def _posterize(step: Step, bits: float) -> str:
    """PosterizeOriginal keeps ``int(level * 0.4) + 4`` bits: the middle of the level's bin, 10 for 8 bits."""
    kept = round(bits)
    return _op("PosterizeOriginal", step, 10.0 if kept >= 8 else (kept - 4 + 0.5) * 2.5)


def _solarize(step: Step, threshold: float) -> str:
    """Solarize inverts values of at least ``int(level * 25.6)``: for whole values, ``ceil(threshold)``."""
    return _op("Solarize", step, min(10.0, (max(0, math.ceil(threshold)) + 0.5) / 25.6))


STEPS: dict[str, StepRenderer] = {
    **{op: _signed(name, top) for op, (name, top) in _SIGNED.items()},
    "identity": lambda step: "",
    "autocontrast": lambda step: _op("AutoContrast", step, 0.0),
    "equalize": lambda step: _op("Equalize", step, 0.0),
    "invert": lambda step: _op("Invert", step, 0.0),
    "grayscale": lambda step: _op("Desaturate", step, 10.0),  # level 10: colour factor 0, the greyscale image
    "posterize": _fixed(lambda step, bits: _posterize(step, bits) if round(bits) >= 4 else None),
    "solarize": _fixed(_solarize),
}


def _body(stock: str | None, rounds: int, choices: list[list[str]]) -> str:
    subs = [[step for step in steps if step] for steps in choices]
    policy = block("AutoAugment([", [block("[", sub, "]") if sub else "[]" for sub in subs], "])")
    return policy if rounds == 1 else block("transforms.Compose([", [policy] * rounds, "])")


_SHIFT = "timm shifts by fractions of a pixel with interpolation (or by absolute pixels), autoaug by whole pixels"
# Measured on inverted digits (bright up to the border): 5% of the pixels, up to 123 grey levels apart.
_EDGE = "PIL does not blend the edge of the warped image with the fill as torch does (up to half the range apart)"
TIMM = Library(
    name="timm",
    steps=STEPS,
    reasons={
        "stock": "timm's rand, augmix and auto policies use other op sets, level scales and fills than torchvision's",
        "translate_x": _SHIFT,
        "translate_y": _SHIFT,
        "rotate": _EDGE,
        "shear_x": _EDGE,
        "shear_y": _EDGE,
        "posterize drawn": DRAWN_BITS,
        "solarize drawn": "timm truncates a drawn level to a whole threshold",
        "gaussian_blur": "timm's GaussianBlur is PIL's box-blur approximation",
        "hflip": "timm's auto-augment ops have no flip",
        "vflip": "timm's auto-augment ops have no flip",
    },
    stock=None,
    imports=(
        "import math\n\nfrom PIL import Image\nfrom timm.data.auto_augment import AugmentOp, AutoAugment\n"
        "from torchvision import transforms\n\n"
        "# autoaug's ops interpolate bilinearly and fill with black; no magnitude noise.\n"
        'HPARAMS = {"interpolation": Image.Resampling.BILINEAR, "img_mean": (0, 0, 0)}\n'
        "# A magnitude drawn uniformly in [0, 10] (autoaug's trivial structure).\n"
        'DRAWN = {**HPARAMS, "magnitude_std": math.inf}\n'
    ),
    usage=(
        "Input: an RGB PIL image (timm's auto-augment ops run on PIL), one per call; put it before ToTensor in a "
        "timm or torchvision pipeline. Draws come from Python's random module (random.seed). Outputs match "
        "autoaug's ops to 1 grey level (PIL rounds interpolation and colour conversions differently)."
    ),
    signature="def build_policy() -> AutoAugment | transforms.Compose:",
    body=_body,
)
