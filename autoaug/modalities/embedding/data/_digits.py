"""The built-in ``digits-embed`` task: MNIST scans (source) and scikit-learn's 8 px digits (target) through
the frozen ImageNet EfficientNet-Lite0; digits 8 and 9 are held out of training."""

from __future__ import annotations

import numpy as np
import torch

from autoaug.modalities.embedding.data._vectors import EmbeddingTask, split_task

ENCODER = "tf_efficientnet_lite0"
IMAGE_SIZE = 32
SOURCE_PER_CLASS = 200
UNSEEN_DIGITS = ("8", "9")


def load_digits_embed_task(
    image_size: int = IMAGE_SIZE, train_size: int = 1000, val_fraction: float = 0.5, seed: int = 0
) -> EmbeddingTask:
    """``train_size`` class-balanced MNIST embeddings of the digits 0-7 (from a fixed pool of 200 per digit);
    all 1,797 scikit-learn digits, split into validation and test. Images are embedded at ``image_size``."""
    from autoaug.modalities.embedding._encoders import image_encoder
    from autoaug.modalities.image.data import DIGIT_CLASSES, gray_image_set, load_mnist_5k, load_sklearn_digits

    encoder = image_encoder(ENCODER)
    mnist, mnist_labels = load_mnist_5k()
    rng = np.random.default_rng(0)
    rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(mnist_labels == d))[:SOURCE_PER_CLASS]
                                   for d in range(10)]))  # fmt: skip
    digits, digit_labels = load_sklearn_digits()
    source = gray_image_set(mnist[rows], mnist_labels[rows], image_size)
    target = gray_image_set(digits, digit_labels, image_size)
    return split_task(
        "digits-embed", DIGIT_CLASSES, (encoder.encode(source.images), source.labels),
        (encoder.encode(target.images), target.labels), unseen=UNSEEN_DIGITS, train_size=train_size,
        val_fraction=val_fraction, seed=seed, encoder=f"{ENCODER} ({encoder.source})",
    )  # fmt: skip
