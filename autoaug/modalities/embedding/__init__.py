"""The embedding modality: frozen encoders (sentence-transformers, timm), cached embeddings, a small head.

Registered as ``"embedding"`` on import. :class:`BatchAugmentation` is what
:func:`autoaug.load_policy` gives for an embedding policy: ``x_aug, y_soft = aug(x, y)``.
"""

from __future__ import annotations

from autoaug.modalities.embedding._augment import BatchAugmentation, as_batch
from autoaug.modalities.embedding._baselines import PAPER_ALPHA, PAPER_OPS, baseline_policies
from autoaug.modalities.embedding._head import HEADS, Head
from autoaug.modalities.embedding._modality import EmbeddingModality
from autoaug.modalities.embedding.data import UNSEEN, EmbeddingTask, Vectors, check_vectors

__all__ = [
    "HEADS",
    "PAPER_ALPHA",
    "PAPER_OPS",
    "UNSEEN",
    "BatchAugmentation",
    "EmbeddingModality",
    "EmbeddingTask",
    "Head",
    "Vectors",
    "as_batch",
    "baseline_policies",
    "check_vectors",
]
