"""A task's data described as run inputs: which data, where it comes from and a fingerprint of its content."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autoaug.config import FOLDERS, DataConfig
from autoaug.tasks import get_task
from autoaug.vocabulary import FILES_TASK

if TYPE_CHECKING:
    from autoaug.modalities._base import Task

TRAINING = "training"
"""The context of the data trials train on."""
TARGET = "target"
"""The context of the clean target data that scores trials (the validation split)."""
HELD_OUT = "test"
"""The context of the held-out target data that ``autoaug evaluate`` reports (the test split)."""
DIGEST_CHARS = 12


@dataclass(frozen=True)
class DataInput:
    """One split of a task's data, as a run's input: plain values, so the records need no tensor library.

    Attributes:
        task: The task's name.
        context: :data:`TRAINING`, :data:`TARGET` or :data:`HELD_OUT`.
        digest: A fingerprint of the split's content (its arrays' bytes, shapes and types).
        rows: How many inputs the split holds.
        classes: How many classes the task has.
        path: The file or folder the split is read from; None for a built-in task.
        origin: Where the data comes from, in words (a built-in task's description, or the path).
    """

    task: str
    context: str
    digest: str
    rows: int
    classes: int
    path: Path | None
    origin: str

    @property
    def name(self) -> str:
        """The dataset's name: ``<task>-<context>``."""
        return f"{self.task}-{self.context}"


def fingerprint(split: Sized) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of SHA-256 over a split's arrays (each field of a dataclass
    split, such as an image set's images and labels); a split of another kind is fingerprinted by its size."""
    digest = hashlib.sha256()
    values = [getattr(split, field.name) for field in dataclasses.fields(split)] if dataclasses.is_dataclass(split) else []
    arrays = [np.ascontiguousarray(value) for value in values if hasattr(value, "__array__")]
    for array in arrays or [np.asarray(len(split))]:
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:DIGEST_CHARS]


def describe_data(task: Task, data: DataConfig, held_out: bool = False) -> tuple[DataInput, ...]:
    """The training split and the target-validation split of ``task``, loaded with ``data``, as run inputs;
    with ``held_out``, the held-out test split too.

    The user's folders or files (tasks ``folders`` and ``files``) are named by their absolute paths (a test
    split cut from the validation data by the validation path), a built-in task by its registered description.
    """
    paths = {TRAINING: data.train_dir or data.train_file, TARGET: data.val_dir or data.val_file}
    paths[HELD_OUT] = data.test_dir or data.test_file or paths[TARGET]
    own = data.task in (FOLDERS, FILES_TASK)
    described = f"autoaug task {data.task!r}" + ("" if own else f": {get_task(data.task).description}")
    splits = [(TRAINING, task.train), (TARGET, task.val)] + ([(HELD_OUT, task.test)] if held_out else [])
    inputs = []
    for context, split in splits:
        path = Path(paths[context]).resolve() if own and paths[context] else None
        origin = str(path) if path else described
        inputs.append(
            DataInput(task.name, context, fingerprint(split), len(split), len(task.class_names), path, origin)
        )
    return tuple(inputs)
