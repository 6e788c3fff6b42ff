"""``load_policy``: a policy file in, the augmentation its modality builds out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoaug.modalities._registry import get_modality
from autoaug.policy import read_policy


def load_policy(path: str | Path) -> Callable[..., Any]:
    """Read a policy file and return the augmentation its modality builds from it.

    An image policy (every version-1 file is one) gives a torchvision v2 transform.

    Raises:
        AutoaugError: If the file is no valid policy or names a modality that is not registered.

    Example:
        >>> transform = load_policy("best_policy.json")  # doctest: +SKIP
        >>> augmented = transform(pil_image)  # doctest: +SKIP
    """
    policy = read_policy(path)
    return get_modality(policy.modality).build_augmentation(policy)
