"""Diversity and relevance of a policy: the ratios of Gontijo-Lopes et al. and feature-space counterparts.

Tensors and numbers in, numbers out; no knowledge of how a search is run. The definitions (also in
the README):

* ``affinity = acc(reference, augmented target val) / acc(reference, clean target val)``
* ``diversity = final train loss under the policy / final train loss without augmentation``
* ``feature_relevance = MMD(features of augmented training images, features of clean target val)``
* ``feature_diversity = total variance of augmented training features / that of the same images clean``
"""

from __future__ import annotations

import math

import torch

from autoaug.errors import MeasureError
from autoaug.vocabulary import MEASURES

__all__ = [
    "BANDWIDTH_SCALES",
    "MEASURES",
    "affinity",
    "diversity",
    "feature_diversity",
    "feature_relevance",
    "loss_ratio",
    "median_distance",
    "mmd",
    "screen_score",
    "total_variance",
]

# Several kernel widths around the median distance: one width alone misses shifts at other scales.
BANDWIDTH_SCALES = (0.5, 1.0, 2.0)


def _ratio(value: float, reference: float, what: str) -> float:
    if not reference > 0:
        raise MeasureError(f"{what} is undefined: the reference value is {reference}, it must be positive")
    return value / reference


def affinity(augmented_accuracy: float, clean_accuracy: float) -> float:
    """Accuracy of the reference model on augmented target data relative to clean target data.

    1 means the policy moves nothing the reference model relies on; a policy that destroys the images
    brings the numerator down to chance.

    Raises:
        MeasureError: If ``clean_accuracy`` is 0 (the ratio is undefined).

    Example:
        >>> affinity(0.45, 0.5)
        0.9
    """
    return _ratio(augmented_accuracy, clean_accuracy, "affinity")


def diversity(train_loss: float, reference_train_loss: float) -> float:
    """Training loss under the policy relative to the loss of the same recipe without augmentation.

    Raises:
        MeasureError: If ``reference_train_loss`` is not positive.

    Example:
        >>> diversity(0.6, 0.3)
        2.0
    """
    return _ratio(train_loss, reference_train_loss, "diversity")


def median_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Median Euclidean distance between distinct rows of ``x`` and ``y`` stacked (the median heuristic).

    Example:
        >>> median_distance(torch.zeros(2, 1), torch.ones(2, 1))
        1.0
    """
    points = torch.cat([x, y]).double()
    distances = torch.cdist(points, points)
    upper = distances[torch.triu_indices(len(points), len(points), offset=1).unbind()]
    return float(upper.median())


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> float:
    """Maximum mean discrepancy between the samples ``x`` [N, D] and ``y`` [M, D].

    The square root of the biased (V-statistic) estimate of MMD², with the sum of Gaussian kernels of
    widths ``bandwidth * BANDWIDTH_SCALES``. It is 0 for identical samples and never negative, so a
    smaller value always means closer; with the same sample sizes and bandwidth, values compare.

    Raises:
        MeasureError: If ``bandwidth`` is not positive or the feature sizes differ.

    Example:
        >>> mmd(torch.zeros(3, 2), torch.zeros(4, 2), bandwidth=1.0)
        0.0
    """
    if not bandwidth > 0:
        raise MeasureError(f"mmd: bandwidth must be positive, got {bandwidth}")
    if x.shape[1:] != y.shape[1:] or x.ndim != 2:
        raise MeasureError(f"mmd: expected two [N, D] samples of the same D, got {list(x.shape)} and {list(y.shape)}")
    x, y = x.double(), y.double()

    def kernel_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        squared = torch.cdist(a, b).square()
        return sum(torch.exp(-squared / (2 * (bandwidth * s) ** 2)).mean() for s in BANDWIDTH_SCALES)

    squared_mmd = kernel_mean(x, x) + kernel_mean(y, y) - 2 * kernel_mean(x, y)
    return float(squared_mmd.clamp(min=0).sqrt())


def total_variance(x: torch.Tensor) -> float:
    """Trace of the covariance of the rows of ``x`` [N, D]: half their mean squared pairwise distance.

    Example:
        >>> total_variance(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
        2.0
    """
    return float(x.double().var(dim=0, unbiased=True).sum())


def feature_relevance(augmented: torch.Tensor, target: torch.Tensor, bandwidth: float) -> float:
    """:func:`mmd` between features of augmented training images and of clean target images (lower = closer)."""
    return mmd(augmented, target, bandwidth)


def feature_diversity(augmented: torch.Tensor, clean: torch.Tensor) -> float:
    """Total variance of features of augmented training images over that of the same images clean.

    1 for a policy that changes nothing; above 1 when the policy spreads the images out in feature
    space, below 1 when it makes them alike.

    Raises:
        MeasureError: If the clean features do not vary at all.

    Example:
        >>> clean = torch.tensor([[0.0], [1.0]])
        >>> feature_diversity(2 * clean, clean)
        4.0
    """
    return _ratio(total_variance(augmented), total_variance(clean), "feature_diversity")


def loss_ratio(augmented_loss: float, clean_loss: float) -> float:
    """A model's loss on augmented images over its loss on the same images clean.

    Raises:
        MeasureError: If ``clean_loss`` is not positive.
    """
    return _ratio(augmented_loss, clean_loss, "the reference loss ratio")


def screen_score(affinity_value: float, ratio: float) -> float:
    """The zero-training screen's score: ``affinity * ln(ratio)``.

    ``ratio`` (:func:`loss_ratio`) is the reference model's cross-entropy on augmented training
    images over its cross-entropy on the same images clean: how much new variation the policy shows
    a model that was fit without it (the zero-training stand-in for ``diversity``). Its logarithm is 0 for a policy
    that changes nothing, so doing nothing scores 0, not the maximum that affinity alone would give
    it; multiplying by affinity discounts variation that leaves the target domain (a policy that
    destroys the images has a large loss ratio but an affinity near chance).

    Example:
        >>> screen_score(1.0, 1.0)
        0.0
    """
    if not ratio > 0:
        raise MeasureError(f"screen score: the loss ratio must be positive, got {ratio}")
    return affinity_value * math.log(ratio)
