"""The reference of a search: the backbone fine-tuned once without augmentation, and what every policy is
measured against (its clean accuracy and training loss, and frozen-backbone features of clean data).

Torch and timm only. A :class:`Reference` is determined by the task data, the pre-trained weights and
the recipe; :func:`reference_key` names that, so a cache can reuse it across searches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from autoaug.config import Recipe
from autoaug.errors import MeasureError
from autoaug.measures import (
    affinity,
    feature_diversity,
    feature_relevance,
    loss_ratio,
    median_distance,
    screen_score,
)
from autoaug.modalities._base import EpochResult, OnEpoch
from autoaug.modalities.image._backbone import PretrainedWeights, build_model
from autoaug.modalities.image._train import (
    Augment,
    augment_images,
    features_head,
    finetune_and_test,
    infer,
    resolve_device,
)
from autoaug.modalities.image._transform import PolicyTransform
from autoaug.modalities.image.data import ImageSet, TransferTask
from autoaug.policy import Policy
from autoaug.vocabulary import AFFINITY, FEATURE_DIVERSITY, FEATURE_RELEVANCE, REFERENCE_LOSS_RATIO, SCREEN_SCORE

__all__ = [
    "PolicyMeter",
    "Reference",
    "fit_reference",
    "load_reference",
    "reference_key",
    "save_reference",
]

logger = logging.getLogger("autoaug.reference")

_FORMAT = "autoaug-reference"
_VERSION = 1
SAMPLE_SIZE = 256
"""Training images whose augmented features and losses are measured per policy."""
VAL_SAMPLE = 1024
"""At most this many target-validation images score affinity (all of them in the built-in task)."""
VAL_FEATURES = 512
"""At most this many clean target-validation images stand for the target distribution in feature space."""


@dataclass(frozen=True, eq=False)
class Reference:
    """The no-augmentation fine-tuning of a search and the clean statistics policies are compared with.

    Attributes:
        key: What determines it (see :func:`reference_key`).
        seed: The recipe's seed (also the initialisation of a randomly initialised backbone).
        state_dict: The fine-tuned model, on the CPU.
        epochs: Its training run, epoch by epoch (train loss, clean target-validation metrics, timings).
        test_metrics: Its held-out target test metrics.
        sample: Indices of the training images the feature measures and the screen use.
        sample_loss: Its cross-entropy on those images, clean.
        val_sample: Indices of the target-validation images affinity is scored on.
        val_sample_accuracy: Its accuracy on those images, clean (affinity's denominator).
        clean_features: Frozen pre-trained backbone features of those images, clean.
        val_features: Frozen pre-trained backbone features of clean target-validation images.
        bandwidth: Kernel width of the MMD: the median distance between the two sets of clean features.
    """

    key: str
    seed: int
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    epochs: tuple[EpochResult, ...]
    test_metrics: dict[str, float]
    sample: torch.Tensor = field(repr=False)
    sample_loss: float
    val_sample: torch.Tensor = field(repr=False)
    val_sample_accuracy: float
    clean_features: torch.Tensor = field(repr=False)
    val_features: torch.Tensor = field(repr=False)
    bandwidth: float

    @property
    def clean_accuracy(self) -> float:
        """Accuracy on the clean target-validation data after the last epoch."""
        return self.epochs[-1].metrics["accuracy"]

    def train_loss(self, epoch: int) -> float:
        """Mean training loss of 1-based ``epoch``."""
        return self.epochs[epoch - 1].train_loss


def _update(digest: Any, tensors: Iterable[torch.Tensor]) -> None:
    for tensor in tensors:
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{tensor.dtype}{list(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())


def reference_key(task: TransferTask, weights: PretrainedWeights, recipe: Recipe) -> str:
    """A hex digest of everything that determines the reference: data, weights, recipe, measure sizes.

    Example:
        >>> reference_key(task, weights, Recipe())  # doctest: +SKIP
        '3f1c...'
    """
    digest = hashlib.sha256()
    settings = {
        "format": (_FORMAT, _VERSION, SAMPLE_SIZE, VAL_FEATURES),
        "classes": task.class_names,
        "model": (weights.model_name, weights.mean, weights.std),
        # The data workers do not change the result.
        "recipe": tuple(getattr(recipe, field.name) for field in dataclasses.fields(recipe) if field.name != "workers"),
        "device": resolve_device(recipe.device).type,
    }
    digest.update(repr(settings).encode())
    _update(digest, (split.images for split in (task.train, task.val, task.test)))
    _update(digest, (split.labels for split in (task.train, task.val, task.test)))
    if weights.state_dict is not None:
        for name in sorted(weights.state_dict):
            digest.update(name.encode())
            _update(digest, [weights.state_dict[name]])
    return digest.hexdigest()


def _mean_loss(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float(F.cross_entropy(logits, labels))


def _accuracy(
    model: torch.nn.Module, data: ImageSet, weights: PretrainedWeights, device: str, augment: Augment | None = None
) -> float:
    predictions = infer(model, data.images, weights.mean, weights.std, device, augment=augment).argmax(dim=1)
    return float((predictions == data.labels).double().mean())


def fit_reference(
    task: TransferTask, weights: PretrainedWeights, recipe: Recipe, on_epoch: OnEpoch | None = None
) -> Reference:
    """Fine-tunes the backbone on clean training data with ``recipe`` and records the clean statistics.

    Takes as long as one trial; a search runs it once, before its trials.

    Raises:
        MeasureError: If the fine-tuned model scores 0 on the clean target-validation data (affinity
            would be undefined) or its training loss is 0 (diversity would be).

    Example:
        >>> reference = fit_reference(task, resolve_weights("test_resnet", "none"), Recipe(epochs=1))  # doctest: +SKIP
    """
    model = build_model(weights, task.num_classes, seed=recipe.seed)
    epochs, test = finetune_and_test(model, task, recipe, weights.mean, weights.std, on_epoch=on_epoch)
    device = str(next(model.parameters()).device)
    generator = torch.Generator().manual_seed(recipe.seed)
    sample = torch.randperm(len(task.train), generator=generator)[:SAMPLE_SIZE]
    val_sample = torch.randperm(len(task.val), generator=generator)[:VAL_SAMPLE]
    val_sample_accuracy = _accuracy(model, task.val.subset(val_sample), weights, device)
    if val_sample_accuracy == 0 or epochs[-1].train_loss <= 0:
        raise MeasureError(
            f"the reference model (fine-tuned without augmentation) reached target-validation accuracy "
            f"{val_sample_accuracy} and training loss {epochs[-1].train_loss}; affinity and diversity "
            "need both above 0: check that the target labels match the training classes, or change --epochs/--lr"
        )
    frozen = build_model(weights, task.num_classes, seed=recipe.seed)
    clean_features = infer(frozen, task.train.images[sample], weights.mean, weights.std, device, head=features_head)
    val_images = task.val.images[val_sample[:VAL_FEATURES]]
    val_features = infer(frozen, val_images, weights.mean, weights.std, device, head=features_head)
    logits = infer(model, task.train.images[sample], weights.mean, weights.std, device)
    return Reference(
        key=reference_key(task, weights, recipe),
        seed=recipe.seed,
        state_dict={name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
        epochs=tuple(epochs),
        test_metrics=test,
        sample=sample,
        sample_loss=_mean_loss(logits, task.train.labels[sample]),
        val_sample=val_sample,
        val_sample_accuracy=val_sample_accuracy,
        clean_features=clean_features,
        val_features=val_features,
        bandwidth=median_distance(clean_features, val_features),
    )


def save_reference(reference: Reference, path: Path) -> None:
    """Write ``reference`` to ``path`` (plain tensors and numbers: it loads with ``weights_only``)."""
    data = dataclasses.asdict(reference)
    data["format"], data["version"] = _FORMAT, _VERSION
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(data, partial)
    partial.replace(path)  # concurrent readers never see half a file


def load_reference(path: Path, key: str) -> Reference | None:
    """The reference stored at ``path`` if it exists and was made for ``key``, else None."""
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.pop("format") != _FORMAT or data.pop("version") != _VERSION or data["key"] != key:
            return None
        data["epochs"] = tuple(EpochResult(**epoch) for epoch in data["epochs"])
        return Reference(**data)
    except Exception as exc:  # a damaged or foreign file is refit, not trusted
        logger.warning("ignoring unreadable reference cache %s (%s: %s)", path, type(exc).__name__, exc)
        return None


class PolicyMeter:
    """Measures policies against a :class:`Reference` without training anything.

    Per policy: ``affinity`` (the reference model on target validation data augmented once per
    image), ``feature_relevance`` and ``feature_diversity`` (frozen pre-trained backbone features of
    the augmented training sample), ``reference_loss_ratio`` (the reference model's cross-entropy on
    the augmented sample over that on the clean sample) and ``screen_score`` (from affinity and that
    ratio, see :func:`autoaug.measures.screen_score`). Build once, measure many policies.

    Example:
        >>> meter = PolicyMeter(reference, task, weights)  # doctest: +SKIP
        >>> meter.measure(PolicyTransform(policy, torch.Generator().manual_seed(0)))["affinity"]  # doctest: +SKIP
        0.93
    """

    def __init__(
        self, reference: Reference, task: TransferTask, weights: PretrainedWeights, device: str = "auto"
    ) -> None:
        self._reference = reference
        self._task = task
        self._weights = weights
        self._mean, self._std = weights.mean, weights.std
        self._device = device
        self._val = task.val.subset(reference.val_sample)
        self._model = build_model(weights, task.num_classes)
        self._model.load_state_dict(reference.state_dict)
        self._frozen = build_model(weights, task.num_classes, seed=reference.seed)

    def measure_policy(self, policy: Policy, seed: int) -> dict[str, float]:
        """All measures of ``policy``, its random draws seeded with ``seed`` (the same seed, the same result)."""
        return self.measure(PolicyTransform(policy, torch.Generator().manual_seed(seed)))

    def measure(self, augment: Augment) -> dict[str, float]:
        """All measures of the policy ``augment`` (a transform of one uint8 [3, H, W] image)."""
        reference, task = self._reference, self._task
        augmented_accuracy = _accuracy(self._model, self._val, self._weights, self._device, augment)
        images = augment_images(task.train.images[reference.sample], augment)
        features = infer(self._frozen, images, self._mean, self._std, self._device, head=features_head)
        logits = infer(self._model, images, self._mean, self._std, self._device)
        value = affinity(augmented_accuracy, reference.val_sample_accuracy)
        ratio = loss_ratio(_mean_loss(logits, task.train.labels[reference.sample]), reference.sample_loss)
        return {
            AFFINITY: value,
            FEATURE_RELEVANCE: feature_relevance(features, reference.val_features, reference.bandwidth),
            FEATURE_DIVERSITY: feature_diversity(features, reference.clean_features),
            REFERENCE_LOSS_RATIO: ratio,
            SCREEN_SCORE: screen_score(value, ratio),
        }
