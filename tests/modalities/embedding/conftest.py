"""A small ``news`` task (8 posts per group and split, real all-MiniLM-L6-v2), embedded once per test session
into a cache folder of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoaug.modalities.embedding import EmbeddingTask
from autoaug.modalities.embedding.data._cache import CACHE_ENV
from autoaug.modalities.embedding.data._news import load_news_task

PER_CLASS = 8


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``AUTOAUG_CACHE`` pointed at a fresh folder for the whole session."""
    folder = tmp_path_factory.mktemp("embedding-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder


@pytest.fixture(scope="session")
def small_news(embedding_cache: Path) -> EmbeddingTask:
    """120 training posts of the 17 seen groups; the other posts of the test split's pool as target."""
    return load_news_task(train_size=120, per_class=PER_CLASS, seed=0)
