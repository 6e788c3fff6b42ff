"""Containers for image tensors and transfer tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from autoaug.errors import DataError

__all__ = ["ImageSet", "TransferTask", "check_positive"]


def check_positive(name: str, value: int) -> None:
    """Raises DataError unless the integer argument ``name`` is at least 1."""
    if value < 1:
        raise DataError(f"{name} must be a positive integer, got {value}")


@dataclass(frozen=True)
class ImageSet:
    """Labelled images held in memory.

    Attributes:
        images: uint8 tensor of shape [N, 3, H, W] (grayscale is replicated to 3 channels).
        labels: int64 tensor of shape [N] with class indices.

    Example:
        >>> s = ImageSet(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]))
        >>> len(s.subset([1, 3]))
        2
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise DataError(
                "images must be a uint8 tensor of shape [N, 3, H, W], got "
                f"{self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise DataError(
                f"labels must be an int64 tensor of shape [{self.images.shape[0]}], got "
                f"{self.labels.dtype} {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: torch.Tensor | Sequence[int]) -> ImageSet:
        """Returns the images at ``indices``, in that order."""
        index = torch.as_tensor(indices, dtype=torch.int64)
        return ImageSet(self.images[index], self.labels[index])


@dataclass(frozen=True)
class TransferTask:
    """Fine-tune on a source domain, score on a target domain.

    Attributes:
        name: Task name shown in reports.
        class_names: Name of each class; label ``i`` is ``class_names[i]``.
        train: Source-domain training data.
        val: Target-domain validation data; scores search trials.
        test: Target-domain held-out test data; used only for the final report.
        skipped: Files skipped as unreadable, each ``"path: reason"``.
        conversions: Files that took more than a plain RGB conversion (16- or 32-bit values rescaled,
            alpha dropped), counted by their source mode, e.g. ``{"I;16": 3}``.
    """

    name: str
    class_names: tuple[str, ...]
    train: ImageSet
    val: ImageSet
    test: ImageSet
    skipped: tuple[str, ...] = ()
    conversions: Mapping[str, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            labels = getattr(self, split).labels
            if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < self.num_classes:
                raise DataError(
                    f"task {self.name!r}: {split} labels must lie in [0, {self.num_classes}) "
                    f"for {self.num_classes} class names"
                )

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)
