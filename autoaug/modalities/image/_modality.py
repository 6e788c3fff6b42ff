"""The image modality: timm backbones fine-tuned on in-memory image sets under torchvision v2 transforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import PIL.Image
import torch

from autoaug.config import FOLDERS, DataConfig, ModelConfig, Recipe
from autoaug.modalities._base import EpochResult, Modality, OnEpoch, TargetMatch, check_policy_modality
from autoaug.modalities._registry import register_modality
from autoaug.modalities.image import _reference, _target_match
from autoaug.modalities.image._backbone import PretrainedWeights, build_model, resolve_weights
from autoaug.modalities.image._baselines import baseline_policies
from autoaug.modalities.image._interop import library_source
from autoaug.modalities.image._preview import preview_images, render_grid
from autoaug.modalities.image._reference import PolicyMeter, Reference
from autoaug.modalities.image._snippet import policy_to_snippet
from autoaug.modalities.image._loader import single_threaded
from autoaug.modalities.image._train import finetune_and_test, use_threads
from autoaug.modalities.image._transform import PolicyTransform
from autoaug.modalities.image.data import TransferTask, describe_conversions, load_folder_task
from autoaug.policy import Policy
from autoaug.tasks import get_task


@register_modality("image")
class ImageModality(Modality):
    """Images: uint8 tensors [N, 3, H, W], per-image policies, a timm backbone with a new head.

    Example:
        >>> from autoaug.modalities import get_modality
        >>> transform = get_modality("image").build_augmentation(Policy("trivial", ops=("rotate",)))
        >>> transform(torch.zeros(3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([3, 8, 8])
    """

    matches_targets = True

    def baselines(self) -> dict[str, Policy]:
        return baseline_policies()

    def resolve_backbone(self, model: ModelConfig) -> PretrainedWeights:
        return resolve_weights(model.backbone, model.weights)

    def load_task(self, data: DataConfig, seed: int) -> TransferTask:
        """A built-in task (``autoaug.tasks.list_tasks``) or the user's image folders (task ``folders``)."""
        if data.task == FOLDERS:
            return load_folder_task(
                Path(str(data.train_dir)),
                Path(str(data.val_dir)),
                data.test_dir,
                image_size=data.image_size,
                val_fraction=data.val_fraction,
                max_train_images=data.train_size,
                seed=seed,
            )
        task: TransferTask = get_task(data.task).load(
            image_size=data.image_size, train_size=data.train_size, val_fraction=data.val_fraction, seed=seed
        )
        return task

    def describe_loading(self, task: TransferTask) -> list[str]:
        lines = []
        if task.skipped:
            lines.append(f"skipped {len(task.skipped)} unreadable image files (listed in the log)")
        if task.conversions:
            converted = task.conversions
            lines.append(
                f"converted {sum(converted.values())} image file(s) to 8-bit RGB: {describe_conversions(converted)}"
            )
        return lines

    def build_augmentation(self, policy: Policy, generator: torch.Generator | None = None) -> PolicyTransform:
        """A torchvision v2 transform of uint8 images (PIL, [C, H, W] or [B, C, H, W], a draw per image)."""
        return PolicyTransform(check_policy_modality(policy, self.name), generator)

    def standalone_source(self, policy: Policy) -> str:
        """``build_policy()`` with torch and torchvision alone (see :func:`policy_to_snippet`)."""
        return policy_to_snippet(policy)

    def library_source(self, policy: Policy, library: str) -> str:
        """``build_policy()`` from torchvision's, timm's, albumentations' or kornia's transforms, where every op maps
        exactly (see :func:`library_source`)."""
        return library_source(check_policy_modality(policy, self.name), library)

    def preview_inputs(self, task: TransferTask) -> torch.Tensor:
        return preview_images(task)

    def preview(self, policy: Policy, inputs: torch.Tensor, samples: int = 8, seed: int = 0) -> PIL.Image.Image:
        with single_threaded():
            return render_grid(policy, inputs, samples=samples, seed=seed)

    def reference_key(self, task: TransferTask, backbone: PretrainedWeights, recipe: Recipe) -> str:
        return _reference.reference_key(task, backbone, recipe)

    def load_reference(self, path: Path, key: str) -> Reference | None:
        return _reference.load_reference(path, key)

    def save_reference(self, reference: Reference, path: Path) -> None:
        _reference.save_reference(reference, path)

    def fit_reference(
        self, task: TransferTask, backbone: PretrainedWeights, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> Reference:
        return _reference.fit_reference(task, backbone, recipe, on_epoch)

    def measure_singles(
        self,
        reference: Reference,
        task: TransferTask,
        backbone: PretrainedWeights,
        recipe: Recipe,
        ops: Sequence[str],
        magnitude_range: tuple[float, float],
    ) -> list[tuple[str, float, float]]:
        use_threads(recipe)
        return _target_match.measure_singles(
            reference, task, backbone, ops, magnitude_range=magnitude_range, device=recipe.device, seed=recipe.seed
        )

    def match_target(
        self,
        reference: Reference,
        task: TransferTask,
        backbone: PretrainedWeights,
        recipe: Recipe,
        singles: Sequence[tuple[str, float, float]],
        max_ops: int,
    ) -> TargetMatch:
        use_threads(recipe)
        return _target_match.match_target(
            reference, task, backbone, singles, max_ops=max_ops, device=recipe.device, seed=recipe.seed
        )

    def meter(
        self, reference: Reference, task: TransferTask, backbone: PretrainedWeights, recipe: Recipe
    ) -> Callable[[Policy], dict[str, float]]:
        use_threads(recipe)
        meter = PolicyMeter(reference, task, backbone, recipe.device)
        return lambda policy: meter.measure_policy(policy, recipe.seed)

    def train(
        self,
        policy: Policy,
        task: TransferTask,
        backbone: PretrainedWeights,
        recipe: Recipe,
        on_epoch: OnEpoch | None = None,
    ) -> tuple[list[EpochResult], dict[str, float]]:
        model = build_model(backbone, task.num_classes, seed=recipe.seed)
        augment = PolicyTransform(policy)  # draws from the global generator, which the fine-tune seeds
        return finetune_and_test(model, task, recipe, backbone.mean, backbone.std, augment=augment, on_epoch=on_epoch)
