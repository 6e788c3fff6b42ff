"""Reference policies that every search should beat, and the classic op pool."""

from __future__ import annotations

from autoaug.policy import Policy

CLASSIC_OPS: tuple[str, ...] = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "saturation",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)
"""The op pool of RandAugment and TrivialAugment in autoaug's names (their Color is saturation)."""


def baseline_policies() -> dict[str, Policy]:
    """Return the baselines by name: no augmentation and torchvision's stock auto-augment transforms.

    Example:
        >>> sorted(baseline_policies())
        ['auto_augment', 'none', 'rand_augment', 'trivial_augment_wide']
    """
    return {
        "none": Policy("none", name="none"),
        "trivial_augment_wide": Policy("torchvision", transform="TrivialAugmentWide", name="trivial_augment_wide"),
        "rand_augment": Policy(
            "torchvision", transform="RandAugment", kwargs={"num_ops": 2, "magnitude": 9}, name="rand_augment"
        ),
        "auto_augment": Policy(
            "torchvision", transform="AutoAugment", kwargs={"policy": "imagenet"}, name="auto_augment"
        ),
    }
