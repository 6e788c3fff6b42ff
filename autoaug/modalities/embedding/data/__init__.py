"""Embedding data: checked vectors, the task type, the on-disk cache and the built-in tasks' loaders."""

from __future__ import annotations

from autoaug.modalities.embedding.data._files import load_own_files, read_labelled
from autoaug.modalities.embedding.data._vectors import UNSEEN, EmbeddingTask, Vectors, check_vectors, split_task

__all__ = ["UNSEEN", "EmbeddingTask", "Vectors", "check_vectors", "load_own_files", "read_labelled", "split_task"]
