"""The downstream model: a small MLP or linear head trained on embeddings under a batch augmentation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from autoaug.config import Recipe
from autoaug.errors import BackboneError
from autoaug.metrics import classification_metrics, expected_calibration_error, macro_auc, unseen_auroc
from autoaug.modalities._base import EpochResult, OnEpoch
from autoaug.modalities.embedding.data import UNSEEN, EmbeddingTask, Vectors
from autoaug.ops.embedding import Batch

HEADS = ("mlp", "linear")
HIDDEN = 256
Augment = Callable[[torch.Tensor, torch.Tensor], Batch]


@dataclass(frozen=True)
class Head:
    """Which head every trial trains from scratch on the cached embeddings."""

    kind: str
    source: str = "random init"


def resolve_head(name: str, weights: str) -> Head:
    """The head ``name`` (``mlp``: one hidden layer of :data:`HIDDEN` units with dropout; ``linear``).

    Raises:
        BackboneError: For another name, or weights other than ``none``/``auto`` (heads start from scratch).
    """
    if name not in HEADS:
        raise BackboneError(
            f"backbone: the embedding modality trains a head on frozen embeddings, one of {', '.join(HEADS)}; "
            f"got {name!r} (the encoder is part of the task)"
        )
    if weights not in ("auto", "none"):
        raise BackboneError(f"weights: a {name} head starts from scratch, so give 'none' or 'auto', not {weights!r}")
    return Head(name)


def build_head(head: Head, dim: int, classes: int, seed: int) -> torch.nn.Module:
    """A fresh head for ``dim``-dimensional embeddings, initialised from ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if head.kind == "linear":
            return torch.nn.Linear(dim, classes)
        return torch.nn.Sequential(
            torch.nn.Linear(dim, HIDDEN), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(HIDDEN, classes)
        )


def score(model: torch.nn.Module, data: Vectors, class_names: tuple[str, ...]) -> dict[str, float]:
    """Accuracy, macro-F1/precision/recall, per-class accuracy, macro one-vs-rest AUC and ECE on the seen
    classes' rows; with rows of held-out classes, also ``unseen_auroc`` (max-softmax)."""
    model.eval()
    with torch.inference_mode():
        probabilities = torch.softmax(model(data.x), dim=1)
    seen = data.y != UNSEEN
    y, p = data.y[seen], probabilities[seen]
    metrics = classification_metrics(y, p.argmax(dim=1), class_names)
    metrics["macro_auc"] = macro_auc(p, y)
    metrics["ece"] = expected_calibration_error(p, y)
    if not bool(seen.all()):
        metrics["unseen_auroc"] = unseen_auroc(probabilities, ~seen)
    return metrics


def train_head(
    model: torch.nn.Module,
    augment: Augment,
    task: EmbeddingTask,
    recipe: Recipe,
    generator: torch.Generator,
    on_epoch: OnEpoch | None = None,
) -> tuple[list[EpochResult], dict[str, float]]:
    """Train ``model`` with AdamW on soft-label cross-entropy, scoring validation every epoch and test once."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    classes = len(task.class_names)
    epochs: list[EpochResult] = []
    test: dict[str, float] = {}
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        losses, seconds_augment, started = [], 0.0, time.perf_counter()
        for rows in torch.randperm(len(task.train), generator=generator).split(recipe.batch_size):
            drawn = time.perf_counter()
            x, y = augment(task.train.x[rows], F.one_hot(task.train.y[rows], classes).float())
            seconds_augment += time.perf_counter() - drawn
            loss = torch.sum(-y * F.log_softmax(model(x), dim=1), dim=1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        seconds_train = time.perf_counter() - started - seconds_augment
        started = time.perf_counter()
        metrics = score(model, task.val, task.class_names)
        result = EpochResult(epoch, sum(losses) / len(losses), metrics, seconds_train, seconds_augment,
                             time.perf_counter() - started)  # fmt: skip
        epochs.append(result)
        if epoch == recipe.epochs:
            test = score(model, task.test, task.class_names)
        if on_epoch is not None:
            on_epoch(result, test or None)
    return epochs, test
