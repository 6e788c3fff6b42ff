"""The embedding modality: a head trained on frozen, cached embeddings under batch augmentations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

from autoaug.config import DataConfig, ModelConfig, Recipe
from autoaug.modalities._base import EpochResult, Modality, OnEpoch
from autoaug.modalities._registry import register_modality
from autoaug.modalities.embedding._augment import BatchAugmentation
from autoaug.modalities.embedding._baselines import baseline_policies
from autoaug.modalities.embedding._head import Head, build_head, resolve_head, train_head
from autoaug.modalities.embedding._preview import preview_embeddings
from autoaug.modalities.embedding._reference import HeadReference, make_meter
from autoaug.modalities.embedding._snippet import policy_to_snippet
from autoaug.modalities.embedding.data import EmbeddingTask, Vectors, load_own_files
from autoaug.ops.embedding import MODALITY
from autoaug.policy import Policy
from autoaug.tasks import get_task
from autoaug.vocabulary import FILES_TASK

PREVIEW_INPUTS = 8


@register_modality(MODALITY)
class EmbeddingModality(Modality):
    """Embeddings [N, D] from a frozen encoder; batch policies ``(x, y) -> (x, y_soft)``; an MLP or linear head.

    Example:
        >>> from autoaug.modalities import get_modality
        >>> sorted(get_modality("embedding").baselines())
        ['e_mixup', 'e_stitchup', 'none', 'soft_e_mixup', 'soft_e_stitchup']
    """

    def baselines(self) -> dict[str, Policy]:
        return baseline_policies()

    def resolve_backbone(self, model: ModelConfig) -> Head:
        return resolve_head(model.backbone, model.weights)

    def load_task(self, data: DataConfig, seed: int) -> EmbeddingTask:
        """A built-in task, or the user's files (task ``files``: vectors, or texts or images and an encoder)."""
        if data.task == FILES_TASK:
            return load_own_files(
                Path(str(data.train_file)), Path(str(data.val_file)), data.test_file, encoder=data.encoder,
                held_out=data.held_out, train_size=data.train_size, val_fraction=data.val_fraction,
                image_size=data.image_size, seed=seed,
            )  # fmt: skip
        task: EmbeddingTask = get_task(data.task).load(
            image_size=data.image_size, train_size=data.train_size, val_fraction=data.val_fraction, seed=seed
        )
        return task

    def describe_loading(self, task: EmbeddingTask) -> list[str]:
        return [
            f"embeddings of {task.encoder}: {len(task.train)} training, {len(task.val)} validation and "
            f"{len(task.test)} test rows of {task.train.x.shape[1]} features; held out of training: "
            f"{', '.join(task.unseen_names) or 'no class'}"
        ]

    def build_augmentation(self, policy: Policy, generator: torch.Generator | None = None) -> BatchAugmentation:
        return BatchAugmentation(policy, generator)

    def standalone_source(self, policy: Policy) -> str:
        """``build_policy()`` with torch and numpy alone (see :func:`policy_to_snippet`)."""
        return policy_to_snippet(policy)

    def preview_inputs(self, task: EmbeddingTask) -> Vectors:
        return Vectors(task.train.x[:PREVIEW_INPUTS], task.train.y[:PREVIEW_INPUTS])

    def preview(self, policy: Policy, inputs: Vectors, samples: int = 8, seed: int = 0) -> Image.Image:
        return preview_embeddings(policy, inputs, samples, seed)

    def fit_reference(
        self, task: EmbeddingTask, backbone: Head, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> HeadReference:
        model = self._model(task, backbone, recipe)
        epochs, test = self._train(model, self.baselines()["none"], task, recipe, on_epoch)
        return HeadReference(tuple(epochs), test, model.state_dict())

    def meter(
        self, reference: HeadReference, task: EmbeddingTask, backbone: Head, recipe: Recipe
    ) -> Callable[[Policy], dict[str, float]]:
        return make_meter(reference, task, backbone, recipe)

    def train(
        self, policy: Policy, task: EmbeddingTask, backbone: Head, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> tuple[list[EpochResult], dict[str, float]]:
        return self._train(self._model(task, backbone, recipe), policy, task, recipe, on_epoch)

    @staticmethod
    def _model(task: EmbeddingTask, head: Head, recipe: Recipe) -> torch.nn.Module:
        return build_head(head, task.train.x.shape[1], len(task.class_names), recipe.seed)

    @staticmethod
    def _train(
        model: torch.nn.Module, policy: Policy, task: EmbeddingTask, recipe: Recipe, on_epoch: OnEpoch | None
    ) -> tuple[list[EpochResult], dict[str, float]]:
        if recipe.threads is not None:
            torch.set_num_threads(recipe.threads)
        generator = torch.Generator().manual_seed(recipe.seed)
        augment = BatchAugmentation(policy, generator)
        classes = len(task.class_names)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)  # dropout
            return train_head(model, lambda x, y: augment(x, y, classes), task, recipe, generator, on_epoch)
