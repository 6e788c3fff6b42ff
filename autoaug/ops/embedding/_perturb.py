"""Per-feature perturbations of embeddings: Gaussian noise at the batch's own spread, feature dropout."""

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


@register_op("gaussian_noise", modality=MODALITY, high=1.0, description="noise std as a share of each feature's std")
def gaussian_noise(batch: Batch, scale: float, generator: torch.Generator | None) -> Batch:
    """Add ``N(0, (scale * s_d)^2)`` to feature ``d``, ``s_d`` its standard deviation over the batch.

    Example:
        >>> x = torch.tensor([[0.0, 5.0], [2.0, 5.0]])
        >>> gaussian_noise((x, torch.eye(2)), 0.5, torch.Generator().manual_seed(0))[0][:, 1]
        tensor([5., 5.])
    """
    x, y = batch
    spread = x.std(dim=0, keepdim=True) if len(x) > 1 else torch.zeros_like(x)
    return x + scale * spread * torch.randn(x.shape, generator=generator), y


@register_op("feature_dropout", modality=MODALITY, high=0.5, description="share of features set to 0 per sample")
def feature_dropout(batch: Batch, rate: float, generator: torch.Generator | None) -> Batch:
    """Set each feature of each sample to 0 with probability ``rate`` (no rescaling: the norm drops with it)."""
    x, y = batch
    return x * (torch.rand(x.shape, generator=generator) >= rate), y
