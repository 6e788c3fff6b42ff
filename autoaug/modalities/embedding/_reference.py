"""The head trained without augmentation, and a policy's measures against it (no training)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from autoaug.config import Recipe
from autoaug.measures import affinity, feature_diversity, feature_relevance, median_distance
from autoaug.modalities._base import EpochResult
from autoaug.modalities.embedding._augment import BatchAugmentation
from autoaug.modalities.embedding._head import Head, build_head, score
from autoaug.modalities.embedding.data import EmbeddingTask, Vectors
from autoaug.policy import Policy
from autoaug.vocabulary import AFFINITY, FEATURE_DIVERSITY, FEATURE_RELEVANCE

SAMPLE = 256
"""Training embeddings augmented once for the feature measures; target embeddings they are compared with."""


@dataclass(frozen=True)
class HeadReference:
    """The reference head: its epochs, its test scores and its weights."""

    epochs: tuple[EpochResult, ...]
    test_metrics: dict[str, float]
    state: dict[str, torch.Tensor]


def make_meter(reference: HeadReference, task: EmbeddingTask, head: Head, recipe: Recipe) -> Callable[[Policy], dict[str, float]]:
    """Measures of a policy: ``affinity`` (the reference's accuracy on augmented target validation
    embeddings, against the augmented labels' top class, over its clean accuracy), ``feature_relevance``
    (MMD of an augmented training sample to the target) and ``feature_diversity`` (its spread over the
    clean sample's); the draws are seeded from ``recipe.seed``."""
    model = build_head(head, task.train.x.shape[1], len(task.class_names), recipe.seed)
    model.load_state_dict(reference.state)
    val = task.val.seen
    clean_accuracy = score(model, val, task.class_names)["accuracy"]
    rows = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(recipe.seed))[:SAMPLE]
    sample, target = task.train.x[rows], task.val.x[:SAMPLE]
    labels = task.train.y[rows]
    bandwidth = median_distance(sample, target)

    def measure(policy: Policy) -> dict[str, float]:
        augment = BatchAugmentation(policy, torch.Generator().manual_seed(recipe.seed))
        x, y = augment(val.x, val.y, len(task.class_names))
        augmented_accuracy = score(model, Vectors(x, y.argmax(dim=1)), task.class_names)["accuracy"]
        moved, _ = augment(sample, labels, len(task.class_names))
        return {
            AFFINITY: affinity(augmented_accuracy, clean_accuracy),
            FEATURE_RELEVANCE: feature_relevance(moved, target, bandwidth),
            FEATURE_DIVERSITY: feature_diversity(moved, sample),
        }

    return measure
