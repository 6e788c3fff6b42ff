"""The albumentations export: ``albumentations.Compose`` of transforms on uint8 HWC arrays (OpenCV kernels)."""

from __future__ import annotations

from autoaug.modalities.image._interop._library import (
    DRAWN_BITS,
    DRAWN_SIGMA,
    Containers,
    Library,
    ValueRenderer,
    block,
    number,
    pair,
    thresholded,
)

_NOOP = "A.NoOp(p=1.0)"
_WARP = "interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT, fill=0"
CONTAINERS = Containers(
    sequence=lambda items: block("A.Sequential([", items, "], p=1.0)"),
    # OneOf weighs its children by their p and applies the one it picks whatever its p: every child has p=1.
    choice=lambda items: block("A.OneOf([", items, "], p=1.0)"),
    apply=lambda item, p: block("A.Sequential([", [item], f"], p={number(p)})"),
    identity=_NOOP,
    top=lambda items: block("A.Compose([", items, "])"),
)


def _jitter(key: str) -> ValueRenderer:
    """ColorJitter draws the factor ``1 + value`` uniformly; its other factors stay at the identity."""

    def render(values: object) -> str:
        factors = {"brightness": "(1.0, 1.0)", "contrast": "(1.0, 1.0)", "saturation": "(1.0, 1.0)", "hue": "(0.0, 0.0)"}
        factors[key] = pair(1 + values.low, 1 + values.high)  # type: ignore[attr-defined]
        return f"A.ColorJitter({', '.join(f'{name}={value}' for name, value in factors.items())}, p=1.0)"

    return render


TABLE: dict[str, ValueRenderer] = {
    "identity": lambda values: _NOOP,
    "hflip": lambda values: "A.HorizontalFlip(p=1.0)",
    "vflip": lambda values: "A.VerticalFlip(p=1.0)",
    "rotate": lambda values: f"A.Rotate(limit={pair(values.low, values.high)}, {_WARP}, p=1.0)",
    # keep_ratio: one scale for both axes (else each draws its own).
    "zoom_in": lambda values: f"A.Affine(scale={pair(values.low, values.high)}, keep_ratio=True, {_WARP}, p=1.0)",
    "zoom_out": lambda values: f"A.Affine(scale={pair(values.low, values.high)}, keep_ratio=True, {_WARP}, p=1.0)",
    "brightness": _jitter("brightness"),
    "contrast": _jitter("contrast"),
    "saturation": _jitter("saturation"),
    "invert": lambda values: "A.InvertImg(p=1.0)",
    "grayscale": lambda values: 'A.ToGray(num_output_channels=3, method="weighted_average", p=1.0)',
    **thresholded(
        _NOOP,
        blur=lambda size, sigma: f"A.GaussianBlur(blur_limit=({size}, {size}), sigma_limit={pair(sigma, sigma)}, p=1.0)",
        posterize=lambda bits: f"A.Posterize(num_bits={bits}, p=1.0)",
        solarize=lambda threshold: f"A.Solarize(threshold_range={pair(threshold / 255, threshold / 255)}, p=1.0)",
    ),
}

_CENTRE = "albumentations shears about the image centre, autoaug about the top-left corner"
_SHIFT = "albumentations rounds a relative shift to pixels differently (autoaug: round(fraction * size))"
ALBUMENTATIONS = Library(
    name="albumentations",
    steps=CONTAINERS.steps(TABLE),
    reasons={
        "shear_x": _CENTRE,
        "shear_y": _CENTRE,
        "translate_x": _SHIFT,
        "translate_y": _SHIFT,
        "hue": "OpenCV's 8-bit hue has 2-degree steps (up to 3 grey levels off)",
        "sharpness": "Sharpen is another filter than autoaug's (PIL's) sharpness",
        "autocontrast": "AutoContrast rounds differently (up to 2 grey levels off)",
        "equalize": "Equalize maps the histogram differently from autoaug's (PIL's) equalize",
        "jpeg": "ImageCompression encodes with OpenCV's settings, not torchvision's",
        "posterize drawn": DRAWN_BITS,
        "solarize drawn": "autoaug's drawn threshold reaches 256, beyond Solarize's range",
        "gaussian_blur drawn": DRAWN_SIGMA,
    },
    stock=None,
    imports="import random\n\nimport albumentations as A\nimport cv2\nimport numpy as np\n",
    usage=(
        "Input: an RGB uint8 numpy array [H, W, 3]: build_policy(seed)(image=array)['image']. Every draw is per "
        "call (per image), from one generator shared by all the transforms (seed it for reproducible draws). "
        "Outputs match autoaug's ops to 1 grey level, 2 for saturation (OpenCV rounds interpolation and colour "
        "conversions differently; torchvision truncates the grey image it blends with)."
    ),
    signature="def build_policy(seed: int | None = None) -> A.Compose:",
    body=CONTAINERS.body,
    statements=(
        "policy = {body}\n"
        "# One generator shared by every transform: Compose(seed=...) gives each transform its own copy of one\n"
        "# seed's generator, so that alike transforms would draw alike.\n"
        "policy.set_random_state(np.random.default_rng(seed), random.Random(seed))\n"
        "return policy"
    ),
)
