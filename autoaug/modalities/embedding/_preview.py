"""A picture of what a policy does to embeddings: a heat map of feature values, clean then augmented."""

from __future__ import annotations

import torch
from PIL import Image

from autoaug.modalities.embedding._augment import BatchAugmentation
from autoaug.modalities.embedding.data import Vectors
from autoaug.policy import Policy

FEATURES = 64
"""Features shown per embedding (the first ones)."""
ZOOM = 4


def preview_embeddings(policy: Policy, inputs: Vectors, samples: int, seed: int) -> Image.Image:
    """Blocks of rows, one row per input embedding: the clean block first, then ``samples`` augmented draws,
    each feature a grey pixel (black: -2 std, white: +2 std of the clean inputs' feature)."""
    augment = BatchAugmentation(policy, torch.Generator().manual_seed(seed))
    classes = int(inputs.y.max()) + 1
    blocks = [inputs.x, *(augment(inputs.x, inputs.y, classes)[0] for _ in range(samples))]
    mean, std = inputs.x.mean(dim=0), inputs.x.std(dim=0).clamp(min=1e-6)
    rows = []
    for block in blocks:
        rows.extend([((block - mean) / std)[:, :FEATURES], torch.full((1, min(FEATURES, block.shape[1])), -2.0)])
    pixels = ((torch.cat(rows).clamp(-2, 2) + 2) * 63.75).to(torch.uint8).numpy()
    image = Image.fromarray(pixels)
    return image.resize((image.width * ZOOM, image.height * ZOOM), Image.Resampling.NEAREST)
