"""The embedding task ``files``: the user's vectors, text tables and image folders, and what bad files get."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from autoaug.config import load_config
from autoaug.errors import ConfigError, DataError
from autoaug.modalities import get_modality
from autoaug.modalities.embedding import UNSEEN
from autoaug.modalities.embedding.data import load_own_files

CLASSES = ("ant", "bee", "cat")


def _vectors(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array([CLASSES[i % 3] for i in range(count)])
    return rng.normal(size=(count, 8)).astype(np.float32) + (np.arange(count) % 3)[:, None], labels


def test_npz_vectors_with_a_class_held_out_make_a_task_through_the_configuration(tmp_path: Path) -> None:
    x, y = _vectors(60, 0)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "target.npz", x=x[:30] + 0.5, y=y[:30])
    path = tmp_path / "search.yaml"
    path.write_text("version: 2\ndata:\n  modality: embedding\n  task: files\n  train_file: train.npz\n"
                    "  val_file: target.npz\n  held_out: [cat]\n")  # fmt: skip
    config = load_config(path)
    assert (config.model.backbone, config.search.space) == ("mlp", "embedding")
    task = get_modality("embedding").load_task(config.data, seed=0)
    assert task.class_names == ("ant", "bee") and task.unseen_names == ("cat",)
    assert len(task.train) == 40 and set(task.train.y.tolist()) == {0, 1}
    assert int((task.val.y == UNSEEN).sum()) + int((task.test.y == UNSEEN).sum()) == 10


def test_npy_and_parquet_vectors_and_a_given_test_file(tmp_path: Path) -> None:
    x, y = _vectors(30, 1)
    np.save(tmp_path / "train.npy", x)
    np.save(tmp_path / "train.labels.npy", y)
    pd.DataFrame({"embedding": list(x), "label": y}).to_parquet(tmp_path / "val.parquet")
    pd.DataFrame({**{f"f{i}": x[:, i] for i in range(8)}, "label": y}).to_parquet(tmp_path / "test.parquet")
    task = load_own_files(tmp_path / "train.npy", tmp_path / "val.parquet", tmp_path / "test.parquet")
    assert len(task.val) == len(task.test) == 30 and torch.allclose(task.val.x, task.test.x)
    assert task.encoder == "given vectors" and task.unseen_names == ()


def test_a_text_table_is_embedded_with_the_sentence_encoder(tmp_path: Path, embedding_cache: Path) -> None:
    texts = ["the cat sat", "a bee buzzed", "ants march", "the cat slept", "bees make honey", "ants dig"] * 2
    labels = ["cat", "bee", "ant"] * 4
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "val.tsv", sep="\t", index=False)
    task = load_own_files(tmp_path / "train.csv", tmp_path / "val.tsv", encoder="all-MiniLM-L6-v2")
    assert task.train.x.shape == (12, 384) and task.class_names == CLASSES


def test_image_folders_are_embedded_with_a_timm_backbone(tmp_path: Path, embedding_cache: Path) -> None:
    for root in ("train", "val"):
        for index, name in enumerate(("dark", "light")):
            (tmp_path / root / name).mkdir(parents=True)
            for k in range(2):
                Image.new("RGB", (20, 20), (60 * index + 40 * k,) * 3).save(tmp_path / root / name / f"{k}.png")
        (tmp_path / root / "dark" / "notes.txt").write_text("not an image")
    task = load_own_files(tmp_path / "train", tmp_path / "val", encoder="tf_efficientnet_lite0", image_size=32)
    assert task.train.x.shape == (4, 1280) and task.class_names == ("dark", "light")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"train.npy": np.zeros((4, 2))}, "train.labels.npy beside it"),
        ({"train.npz": {"x": np.zeros((4, 2))}}, "missing \\['y'\\]"),
        ({"train.txt": "hello"}, "unknown kind of file"),
        ({"train.npz": {"x": np.full((4, 2), np.nan), "y": np.zeros(4, dtype=int)}}, "4 of 4 rows hold NaN"),
    ],
)  # fmt: skip
def test_bad_training_files_are_refused(tmp_path: Path, files: dict[str, object], message: str) -> None:
    for name, content in files.items():
        if isinstance(content, dict):
            np.savez(tmp_path / name, **content)
        elif isinstance(content, str):
            (tmp_path / name).write_text(content)
        else:
            np.save(tmp_path / name, content)
    np.savez(tmp_path / "val.npz", x=np.zeros((4, 2)), y=np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=message):
        load_own_files(tmp_path / next(iter(files)), tmp_path / "val.npz")


def test_target_classes_and_dimensions_must_fit_the_training_file(tmp_path: Path) -> None:
    x, y = _vectors(30, 2)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "dog.npz", x=x, y=np.where(y == "cat", "dog", y))
    np.savez(tmp_path / "wide.npz", x=np.zeros((30, 9), dtype=np.float32), y=y)
    with pytest.raises(DataError, match="classes \\['dog'\\] are neither training classes nor held out"):
        load_own_files(tmp_path / "train.npz", tmp_path / "dog.npz")
    with pytest.raises(DataError, match="9 features per row, the training file has 8"):
        load_own_files(tmp_path / "train.npz", tmp_path / "wide.npz")
    with pytest.raises(ConfigError, match="texts need an encoder"):
        (tmp_path / "t.csv").write_text("text,label\na,b\n")
        load_own_files(tmp_path / "t.csv", tmp_path / "t.csv")


def test_the_files_task_needs_its_paths_and_they_belong_to_it() -> None:
    with pytest.raises(ConfigError, match="task 'files' needs train_file and val_file"):
        load_config(overrides={"modality": "embedding", "task": "files"})
    with pytest.raises(ConfigError, match="train_file is only used with the embedding task 'files'"):
        load_config(overrides={"modality": "embedding", "task": "news", "train_file": "x.npz"})
