"""Target matching: the short chain of ops that brings the training images closest to the target domain.

Relevance without training. Each op of the space is applied, at a few magnitudes, to the reference's
sample of training images, and ``feature_relevance`` (the MMD between their frozen-backbone features and
those of clean target-validation images) says how much closer to the target it moves them. A greedy
pass then chains the ops that keep closing the gap, at most ``max_ops`` of them. The gap is measured
above a floor, the distance between two halves of the target images themselves (what sampling alone
gives), so that chance wins of a few images count for nothing. Under a domain shift
(low-resolution scans, another scanner, rendered versus real) the chain names the variation the target
has and the source lacks; in-domain, nothing closes the gap and the chain stays empty.

The image modality's side of target matching (:meth:`autoaug.modalities.Modality.measure_singles` and
:meth:`~autoaug.modalities.Modality.match_target`); the search turns a chain into proposals for its
sampler, and draws its ops from the closest ones when a chain was found.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from autoaug.measures import feature_relevance
from autoaug.modalities._base import SHORTLIST, TargetMatch
from autoaug.modalities.image._backbone import PretrainedWeights, build_model
from autoaug.modalities.image._reference import Reference
from autoaug.modalities.image._train import augment_images, features_head, infer
from autoaug.modalities.image._transform import PolicyTransform
from autoaug.modalities.image.data import TransferTask
from autoaug.ops import get_op
from autoaug.policy import OpSpec, Policy

__all__ = ["MAGNITUDES", "MIN_GAIN", "match_target", "measure_singles"]

MAGNITUDES = (0.25, 0.5, 0.75, 1.0)
"""Magnitudes at which each op is tried alone (ops that take no magnitude are tried once)."""
MIN_GAIN = 0.1
"""An op joins the chain only if it closes at least this share of the gap between the clean distance and the floor."""


class _RelevanceMeter:
    """Relevance distance of chains of ops on the reference's training sample, with fixed random draws."""

    def __init__(self, reference: Reference, task: TransferTask, weights: PretrainedWeights, device: str, seed: int):
        self._reference = reference
        self._images = task.train.images[reference.sample]
        self._weights = weights
        self._device = device
        self._seed = seed
        self._frozen = build_model(weights, task.num_classes, seed=reference.seed)
        self._known: dict[tuple[tuple[str, float], ...], float] = {}

    def distance(self, chain: Sequence[tuple[str, float]]) -> float:
        key = tuple(chain)
        if key not in self._known:
            self._known[key] = self._measure(key)
        return self._known[key]

    def floor(self) -> float:
        """Relevance distance between the two halves of the target sample."""
        target = self._reference.val_features
        half = len(target) // 2
        return feature_relevance(target[:half], target[half : 2 * half], self._reference.bandwidth)

    def remember(self, chain: Sequence[tuple[str, float]], distance: float) -> None:
        """Take ``distance`` as measured for ``chain`` (by another meter with the same seed)."""
        self._known[tuple(chain)] = distance

    def _measure(self, chain: tuple[tuple[str, float], ...]) -> float:
        if not chain:
            features = self._reference.clean_features
        else:
            policy = Policy("subpolicies", sub_policies=(tuple(OpSpec(name, 1.0, m) for name, m in chain),))
            images = augment_images(self._images, PolicyTransform(policy, torch.Generator().manual_seed(self._seed)))
            features = infer(self._frozen, images, self._weights.mean, self._weights.std, self._device, head=features_head)
        return feature_relevance(features, self._reference.val_features, self._reference.bandwidth)


def measure_singles(
    reference: Reference,
    task: TransferTask,
    weights: PretrainedWeights,
    ops: Sequence[str],
    *,
    magnitude_range: tuple[float, float] = (0.0, 1.0),
    device: str = "auto",
    seed: int = 0,
) -> list[tuple[str, float, float]]:
    """Relevance distance of each of ``ops`` applied alone at :data:`MAGNITUDES` (scaled into ``magnitude_range``).

    Returns:
        (name, magnitude, distance) for every op and magnitude tried, in the order tried.
    """
    meter = _RelevanceMeter(reference, task, weights, device, seed)
    low, high = magnitude_range
    tried = []
    for name in ops:
        for fraction in MAGNITUDES if get_op(name).uses_magnitude else (1.0,):
            magnitude = low + fraction * (high - low)
            tried.append((name, magnitude, meter.distance([(name, magnitude)])))
    return tried


def match_target(
    reference: Reference,
    task: TransferTask,
    weights: PretrainedWeights,
    singles: Sequence[tuple[str, float, float]],
    *,
    max_ops: int = 3,
    device: str = "auto",
    seed: int = 0,
) -> TargetMatch:
    """Chain at most ``max_ops`` of the single ops measured by :func:`measure_singles` (same ``seed``).

    Each op keeps its closest magnitude. Starting from no op, the op of the closest
    :data:`SHORTLIST` that lowers the distance most is added, as long as it lowers it by at least
    :data:`MIN_GAIN` of the clean distance's gap above the floor (no op is added when there is no gap). The same ``seed`` gives the same draws and the same answer.

    Example:
        >>> singles = measure_singles(reference, task, weights, ["downscale", "zoom_in"])  # doctest: +SKIP
        >>> match_target(reference, task, weights, singles).chain  # doctest: +SKIP
        (('zoom_in', 1.0), ('downscale', 0.67))
    """
    meter = _RelevanceMeter(reference, task, weights, device, seed)
    ranked = sorted(singles, key=lambda entry: entry[2])
    closest: dict[str, float] = {}
    for name, magnitude, distance in ranked:
        closest.setdefault(name, magnitude)
        meter.remember([(name, magnitude)], distance)
    shortlist = list(closest.items())[:SHORTLIST]
    clean = current = meter.distance([])
    floor = meter.floor()
    chain: list[tuple[str, float]] = []
    while len(chain) < max_ops and clean > floor:
        options = [(meter.distance([*chain, step]), step) for step in shortlist if step not in chain]
        if not options or min(options)[0] > current - MIN_GAIN * (clean - floor):
            break
        current, step = min(options)
        chain.append(step)
    return TargetMatch(tuple(chain), clean, floor, current, tuple(ranked))
