"""The batch every embedding op takes and returns, and the draws the ops share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoaug.ops._lazy import lazy_import

if TYPE_CHECKING:
    import torch
else:  # imported when a kernel first runs: listing the ops needs no torch
    torch = lazy_import("torch")

Batch = tuple["torch.Tensor", "torch.Tensor"]
"""Embeddings ``x`` [B, D] (float) and soft labels ``y`` [B, C] whose rows sum to 1."""


def partners(size: int, generator: torch.Generator | None) -> torch.Tensor:
    """A random permutation of the batch: row ``i`` is combined with row ``partners[i]``."""
    return torch.randperm(size, generator=generator)


def beta_weights(size: int, alpha: float, generator: torch.Generator | None) -> torch.Tensor:
    """``size`` draws of ``lam ~ Beta(alpha, alpha)``, as ``max(lam, 1 - lam)``, shape [B, 1].

    The larger share always goes to the sample itself, so a small ``alpha`` is close to the identity.
    torch's Beta sampler takes no generator, so numpy's draws from a seed taken from ``generator``.
    """
    seed = int(torch.randint(2**62, (), generator=generator))
    lam = torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, size)).float()
    return torch.maximum(lam, 1 - lam)[:, None]


def smooth(y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Label smoothing: ``(1 - epsilon) * y + epsilon / C``; rows still sum to 1."""
    return (1 - epsilon) * y + epsilon / y.shape[1]
