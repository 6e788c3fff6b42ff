"""The embedding task ``files``: the user's own vectors, or texts or images embedded by an encoder.

Each file is read into embeddings and class names; the classes of the training file (less those held
out) are the ones the head learns, and the target's rows of held-out classes score ``unseen_auroc``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from autoaug.errors import ConfigError, DataError
from autoaug.modalities.embedding.data._vectors import EmbeddingTask, check_vectors, split_task
from autoaug.vocabulary import FILES_TASK

VECTOR_SUFFIXES = (".npz", ".npy", ".parquet")
TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t"}
LABEL = "label"
TEXT = "text"


def _vectors(path: Path) -> tuple[Any, Any]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            missing = {"x", "y"} - set(data.files)
            if missing:
                raise DataError(f"{path}: expected arrays 'x' (embeddings) and 'y' (labels), missing {sorted(missing)}")
            return data["x"], data["y"]
    if path.suffix == ".npy":
        labels = path.with_suffix(".labels.npy")
        if not labels.is_file():
            raise DataError(f"{path}: the labels go in {labels.name} beside it (one per row), which is missing")
        return np.load(path, allow_pickle=False), np.load(labels, allow_pickle=False)
    import pandas as pd

    table = pd.read_parquet(path)
    if LABEL not in table.columns:
        raise DataError(f"{path}: expected a '{LABEL}' column, found {list(table.columns)}")
    features = table.drop(columns=[LABEL])
    if list(features.columns) == ["embedding"]:
        return np.stack(features["embedding"].to_numpy()), table[LABEL].to_numpy()
    return features.to_numpy(), table[LABEL].to_numpy()


def _texts(path: Path, encoder: str | None) -> tuple[torch.Tensor, list[str]]:
    import pandas as pd

    from autoaug.modalities.embedding._encoders import text_encoder

    if encoder is None:
        raise ConfigError(f"{path}: texts need an encoder: set encoder (e.g. all-MiniLM-L6-v2)")
    table = pd.read_csv(path, sep=TEXT_SUFFIXES[path.suffix], dtype=str, keep_default_na=False)
    missing = {TEXT, LABEL} - set(table.columns)
    if missing:
        raise DataError(f"{path}: expected columns '{TEXT}' and '{LABEL}', missing {sorted(missing)}")
    return text_encoder(encoder).encode(table[TEXT].tolist()), table[LABEL].tolist()


def _images(folder: Path, encoder: str | None, image_size: int) -> tuple[torch.Tensor, list[str]]:
    from autoaug.modalities.embedding._encoders import image_encoder

    if encoder is None:
        raise ConfigError(f"{folder}: images need an encoder: set encoder to a timm backbone (tf_efficientnet_lite0)")
    images, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for file in sorted(p for p in class_dir.iterdir() if p.is_file()):
            try:
                with Image.open(file) as image:
                    rgb = image.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
            except (UnidentifiedImageError, OSError):
                continue  # not an image: the folder may hold other files
            images.append(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))
            labels.append(class_dir.name)
    if not images:
        raise DataError(f"{folder}: no readable image in its class folders <dir>/<class>/*")
    return image_encoder(encoder).encode(torch.stack(images)), labels


def read_labelled(path: Path, encoder: str | None, image_size: int) -> tuple[torch.Tensor, list[str]]:
    """Embeddings and the class name of each row, from vectors, a text table or image folders.

    Raises:
        DataError: If the file is missing, of an unknown kind, or its contents do not fit (see
            :func:`~autoaug.modalities.embedding.data.check_vectors`).
    """
    if path.is_dir():
        return _images(path, encoder, image_size)
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix in VECTOR_SUFFIXES:
        x, y = _vectors(path)
        y = np.asarray(y)
        codes = np.unique(y, return_inverse=True)[1] if y.dtype.kind in "OUS" else y
        vectors, _ = check_vectors(x, codes, str(path))
        return vectors, [str(label) for label in y.tolist()]
    if path.suffix in TEXT_SUFFIXES:
        return _texts(path, encoder)
    raise DataError(
        f"{path}: unknown kind of file; give {', '.join(VECTOR_SUFFIXES)} vectors, a "
        f"{'/'.join(TEXT_SUFFIXES)} text table or a folder of class folders of images"
    )


def load_own_files(
    train_file: Path,
    val_file: Path,
    test_file: Path | None = None,
    *,
    encoder: str | None = None,
    held_out: tuple[str, ...] = (),
    train_size: int = 100_000,
    val_fraction: float = 0.5,
    image_size: int = 224,
    seed: int = 0,
) -> EmbeddingTask:
    """The task of the user's files: at most ``train_size`` class-balanced training rows of the classes not
    ``held_out``; the validation file split into validation and test unless ``test_file`` is given.

    Raises:
        DataError: If a file cannot be used, the files' dimensions differ, or a target class is unknown.
    """
    read = {role: read_labelled(path, encoder, image_size) for role, path in
            (("train", train_file), ("val", val_file), ("test", test_file)) if path is not None}  # fmt: skip
    class_names = tuple(sorted({*read["train"][1], *held_out}))
    for role, (x, names) in read.items():
        unknown = sorted(set(names) - set(class_names))
        if unknown:
            raise DataError(f"{role} file: classes {unknown} are neither training classes nor held out (held_out)")
        if x.shape[1] != read["train"][0].shape[1]:
            raise DataError(f"{role} file: {x.shape[1]} features per row, the training file has {read['train'][0].shape[1]}")
    labelled = {role: (x, torch.tensor([class_names.index(n) for n in names])) for role, (x, names) in read.items()}
    return split_task(
        FILES_TASK, class_names, labelled["train"], labelled["val"], unseen=held_out, train_size=train_size,
        val_fraction=val_fraction, seed=seed, encoder=encoder or "given vectors", test=labelled.get("test"),
    )  # fmt: skip


def load_files_task(**settings: object) -> EmbeddingTask:
    """The registry's entry for task ``files``: its data come from the configuration's paths, not from here.

    Raises:
        ConfigError: Always, saying how to give the files.
    """
    raise ConfigError(
        f"task '{FILES_TASK}' reads train_file and val_file from the configuration; load it with the embedding "
        "modality's load_task, or call load_own_files with the paths"
    )
