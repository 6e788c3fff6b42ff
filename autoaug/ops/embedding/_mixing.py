"""E-Mixup, E-Stitchup and their soft variants (Wolfe & Lundgaard, arXiv 1912.00772).

Each op combines every embedding with a partner from the same batch (a random permutation) at a
weight ``lam`` drawn per sample from ``Beta(alpha, alpha)`` and kept at or above 0.5, so the sample
itself keeps the larger share; the op's value is ``alpha``. The deterministic parts, :func:`mix`
and :func:`stitch`, take the partner and the weights, so a draw can be replayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoaug.ops._lazy import lazy_import
from autoaug.ops._registry import register_op
from autoaug.ops.embedding._batch import Batch, beta_weights, partners, smooth

if TYPE_CHECKING:
    import torch
else:  # imported when a kernel first runs: listing the ops needs no torch
    torch = lazy_import("torch")

MODALITY = "embedding"
SOFTENING = 0.1
"""The extra label smoothing of the soft variants."""
_ALPHA = {"low": 0.02, "high": 1.0, "description": "alpha of the Beta(alpha, alpha) mixing weight"}


def mix(batch: Batch, partner: torch.Tensor, lam: torch.Tensor) -> Batch:
    """E-Mixup: ``lam * x + (1 - lam) * x[partner]``, and the same for the labels.

    Example:
        >>> x, y = torch.eye(2), torch.eye(2)
        >>> mix((x, y), torch.tensor([1, 0]), torch.tensor([[0.75], [0.75]]))[1]
        tensor([[0.7500, 0.2500],
                [0.2500, 0.7500]])
    """
    x, y = batch
    return lam * x + (1 - lam) * x[partner], lam * y + (1 - lam) * y[partner]


def stitch_masks(size: int, dim: int, lam: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Per sample, which of the ``dim`` features it keeps: each one independently with probability ``lam``."""
    return torch.rand(size, dim, generator=generator) < lam


def stitch(batch: Batch, partner: torch.Tensor, masks: torch.Tensor) -> Batch:
    """E-Stitchup: the features in ``masks`` from the sample, the others from its partner; labels weighted by
    the share of features each contributed.

    Example:
        >>> x, y = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]), torch.eye(2)
        >>> masks = torch.tensor([[True, True, True, False], [True, True, True, True]])
        >>> stitch((x, y), torch.tensor([1, 0]), masks)
        (tensor([[1., 1., 1., 0.],
                [0., 0., 0., 0.]]), tensor([[0.7500, 0.2500],
                [0.0000, 1.0000]]))
    """
    x, y = batch
    share = masks.float().mean(dim=1, keepdim=True)
    return torch.where(masks, x, x[partner]), share * y + (1 - share) * y[partner]


@register_op("e_mixup", modality=MODALITY, **_ALPHA)
def e_mixup(batch: Batch, alpha: float, generator: torch.Generator | None) -> Batch:
    """E-Mixup with ``lam ~ Beta(alpha, alpha)`` per sample."""
    size = len(batch[0])
    return mix(batch, partners(size, generator), beta_weights(size, alpha, generator))


@register_op("e_stitchup", modality=MODALITY, **_ALPHA)
def e_stitchup(batch: Batch, alpha: float, generator: torch.Generator | None) -> Batch:
    """E-Stitchup with ``lam ~ Beta(alpha, alpha)`` per sample."""
    x = batch[0]
    partner = partners(len(x), generator)
    lam = beta_weights(len(x), alpha, generator)
    return stitch(batch, partner, stitch_masks(len(x), x.shape[1], lam, generator))


@register_op("soft_e_mixup", modality=MODALITY, **_ALPHA)
def soft_e_mixup(batch: Batch, alpha: float, generator: torch.Generator | None) -> Batch:
    """E-Mixup, then label smoothing by :data:`SOFTENING`."""
    x, y = e_mixup(batch, alpha, generator)
    return x, smooth(y, SOFTENING)


@register_op("soft_e_stitchup", modality=MODALITY, **_ALPHA)
def soft_e_stitchup(batch: Batch, alpha: float, generator: torch.Generator | None) -> Batch:
    """E-Stitchup, then label smoothing by :data:`SOFTENING`."""
    x, y = e_stitchup(batch, alpha, generator)
    return x, smooth(y, SOFTENING)
