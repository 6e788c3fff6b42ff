"""The embedding ops: batch kernels ``kernel((x, y), value, generator) -> (x, y)``, registered on import.

``x`` holds embeddings [B, D], ``y`` soft labels [B, C]; an op may combine samples of the batch and
soften their labels (the rows of ``y`` still sum to 1).
"""

from __future__ import annotations

from autoaug.ops.embedding import _neighbours, _perturb  # noqa: F401
from autoaug.ops.embedding._batch import Batch, smooth
from autoaug.ops.embedding._mixing import MODALITY, SOFTENING, mix, stitch, stitch_masks

__all__ = ["MODALITY", "SOFTENING", "Batch", "mix", "smooth", "stitch", "stitch_masks"]
