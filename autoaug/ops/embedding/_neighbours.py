"""Within-class interpolation and extrapolation in feature space (DeVries & Taylor, 2017).

Each embedding moves along the line to its nearest neighbour of the same class within the batch
(class: the label's largest entry); its label is unchanged. A sample with no other sample of its
class in the batch stays as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoaug.ops._lazy import lazy_import
from autoaug.ops._registry import register_op
from autoaug.ops.embedding._batch import Batch
from autoaug.ops.embedding._mixing import MODALITY

if TYPE_CHECKING:
    import torch
else:  # imported when a kernel first runs: listing the ops needs no torch
    torch = lazy_import("torch")


def class_neighbours(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Index of each row's nearest other row of the same class (Euclidean), or the row itself if none.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [5.0], [9.0]])
        >>> class_neighbours(x, torch.eye(2)[[0, 0, 0, 1]])
        tensor([1, 0, 1, 3])
    """
    classes = y.argmax(dim=1)
    distances = torch.cdist(x, x)
    distances.masked_fill_(classes[:, None] != classes[None, :], float("inf"))
    distances.fill_diagonal_(float("inf"))
    nearest = distances.argmin(dim=1)
    alone = torch.isinf(distances.min(dim=1).values)
    return torch.where(alone, torch.arange(len(x)), nearest)


@register_op("class_interpolate", modality=MODALITY, high=1.0, description="step towards the neighbour (1: onto it)")
def class_interpolate(batch: Batch, step: float, generator: torch.Generator | None) -> Batch:
    """``x + step * (x_k - x)``, ``x_k`` the nearest neighbour of the same class."""
    x, y = batch
    return x + step * (x[class_neighbours(x, y)] - x), y


@register_op("class_extrapolate", modality=MODALITY, high=1.0, description="step away from the neighbour")
def class_extrapolate(batch: Batch, step: float, generator: torch.Generator | None) -> Batch:
    """``x + step * (x - x_k)``, ``x_k`` the nearest neighbour of the same class (DeVries & Taylor used 0.5)."""
    x, y = batch
    return x + step * (x - x[class_neighbours(x, y)]), y
