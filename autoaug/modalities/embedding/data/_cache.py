"""Embeddings cached on disk under a digest of the encoder, its weights and the data."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

CACHE_ENV = "AUTOAUG_CACHE"
"""Environment variable naming the cache folder (default ``~/.cache/autoaug``)."""


def cache_dir() -> Path:
    """Where embeddings are cached: ``$AUTOAUG_CACHE/embeddings``, else ``~/.cache/autoaug/embeddings``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "autoaug"
    return Path(root) / "embeddings"


def digest(*parts: bytes | str) -> str:
    """A hex SHA-256 over ``parts``, each length-prefixed so that different splits never collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little") + data)
    return hasher.hexdigest()


def cached(key: dict[str, str], compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """The tensor cached under ``key`` (encoder, weights, data digest, ...), computed and stored if absent.

    The file is written under a temporary name and renamed, so a crash never leaves a broken entry.
    """
    name = digest(json.dumps(key, sort_keys=True))
    path = cache_dir() / f"{name}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    torch.save(value, partial)
    partial.replace(path)
    path.with_suffix(".json").write_text(json.dumps(key, sort_keys=True, indent=1))
    return value
