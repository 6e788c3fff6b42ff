"""Embeddings with labels, checked once, and the task the embedding modality trains and scores on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from autoaug.errors import DataError

UNSEEN = -1
"""The label of a target sample whose class was held out of training."""


@dataclass(frozen=True)
class Vectors:
    """Embeddings ``x`` [N, D] (float32) and class indices ``y`` [N]; :data:`UNSEEN` marks held-out classes."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    @property
    def seen(self) -> Vectors:
        """The rows of classes the head is trained on."""
        keep = self.y != UNSEEN
        return Vectors(self.x[keep], self.y[keep])


@dataclass(frozen=True)
class EmbeddingTask:
    """Training embeddings of the source domain and clean target embeddings to score on.

    Attributes:
        name: Task name.
        class_names: The classes the head learns; label ``i`` is ``class_names[i]``.
        unseen_names: Classes held out of training; their target samples are labelled :data:`UNSEEN`.
        train: Source embeddings of the seen classes.
        val: Target embeddings that score trials.
        test: Held-out target embeddings, scored once per finished trial.
        encoder: What made the embeddings (for reports).
    """

    name: str
    class_names: tuple[str, ...]
    unseen_names: tuple[str, ...]
    train: Vectors
    val: Vectors
    test: Vectors
    encoder: str
    skipped: tuple[str, ...] = ()
    conversions: dict[str, int] = field(default_factory=dict)


def check_vectors(x: object, y: object, source: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check embeddings and labels as given, before anything uses them.

    Args:
        x: Embeddings [N, D], a float array or tensor.
        y: Integer labels [N].
        source: Where they come from, for messages.

    Raises:
        DataError: On a wrong shape or dtype, NaN or infinite rows (counted), or labels that do not
            match the rows, naming the fix.

    Example:
        >>> check_vectors(np.zeros((3, 2)), np.array([0, 1, 2]), "example")[0].dtype
        torch.float32
    """
    x_array, y_array = np.asarray(x), np.asarray(y)
    if x_array.ndim != 2 or x_array.shape[1] < 1 or not np.issubdtype(x_array.dtype, np.floating):
        raise DataError(
            f"{source}: expected embeddings as a 2-D float array [rows, dim], got {x_array.dtype} of shape "
            f"{list(x_array.shape)}"
        )
    if y_array.ndim != 1 or len(y_array) != len(x_array):
        raise DataError(
            f"{source}: expected one label per row ({len(x_array)} rows), got labels of shape {list(y_array.shape)}"
        )
    if not (np.issubdtype(y_array.dtype, np.integer) and (y_array >= 0).all()):
        raise DataError(f"{source}: labels must be non-negative integers, got {y_array.dtype}")
    bad = ~np.isfinite(x_array).all(axis=1)
    if bad.any():
        raise DataError(
            f"{source}: {int(bad.sum())} of {len(x_array)} rows hold NaN or infinite values (first: row "
            f"{int(np.flatnonzero(bad)[0])}); drop or fill them"
        )
    return torch.from_numpy(x_array.astype(np.float32)), torch.from_numpy(y_array.astype(np.int64))


def _balanced(y: torch.Tensor, classes: Sequence[int], size: int, generator: torch.Generator) -> torch.Tensor:
    """Up to ``size`` row indices, as equal a number per class of ``classes`` as the rows allow."""
    pools = [(y == c).nonzero().flatten() for c in classes]
    pools = [pool[torch.randperm(len(pool), generator=generator)] for pool in pools]
    picked: list[torch.Tensor] = []
    for rank in range(max(len(pool) for pool in pools)):
        picked.extend(pool[rank : rank + 1] for pool in pools if rank < len(pool))
        if len(picked) >= size:
            break
    return torch.cat(picked[:size]).sort().values


def split_task(
    name: str,
    class_names: Sequence[str],
    source: tuple[torch.Tensor, torch.Tensor],
    target: tuple[torch.Tensor, torch.Tensor],
    *,
    unseen: Sequence[str],
    train_size: int,
    val_fraction: float,
    seed: int,
    encoder: str,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> EmbeddingTask:
    """Hold ``unseen`` classes out of training, take ``train_size`` class-balanced source rows and split the
    target stratified into validation and test (or take ``test`` as given); the same arguments give the
    same task.

    Raises:
        DataError: If a trained class has no source row, a class has no target row, or a held-out class
            is unknown.
    """
    missing = [c for c in unseen if c not in class_names]
    if missing:
        raise DataError(f"{name}: held-out classes {missing} are not among the classes {list(class_names)}")
    seen = [c for c, class_name in enumerate(class_names) if class_name not in unseen]
    names = tuple(class_names[c] for c in seen)
    for role, (_, y), classes in (("source", source, seen), ("target", target, range(len(class_names)))):
        empty = [class_names[c] for c in classes if not bool((y == c).any())]
        if empty:
            raise DataError(f"{name}: class {empty[0]!r} has no {role} rows; every class needs examples in both")
    relabel = torch.full((len(class_names),), UNSEEN, dtype=torch.long)
    relabel[torch.tensor(seen)] = torch.arange(len(seen))
    generator = torch.Generator().manual_seed(seed)
    rows = _balanced(source[1], seen, train_size, generator)
    train = Vectors(source[0][rows], relabel[source[1][rows]])
    if test is not None:
        return EmbeddingTask(
            name, names, tuple(unseen), train, Vectors(target[0], relabel[target[1]]),
            Vectors(test[0], relabel[test[1]]), encoder,
        )  # fmt: skip
    val_rows, test_rows = [], []
    for c in range(len(class_names)):
        rows = (target[1] == c).nonzero().flatten()
        rows = rows[torch.randperm(len(rows), generator=generator)]
        cut = max(1, round(val_fraction * len(rows))) if len(rows) > 1 else len(rows)
        val_rows.append(rows[:cut])
        test_rows.append(rows[cut:])
    val_index, test_index = (torch.cat(parts).sort().values for parts in (val_rows, test_rows))
    return EmbeddingTask(
        name, names, tuple(unseen), train, Vectors(target[0][val_index], relabel[target[1][val_index]]),
        Vectors(target[0][test_index], relabel[target[1][test_index]]), encoder,
    )  # fmt: skip
