"""What a run records about where it comes from: its datasets (run inputs) and its source and version tags."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Sequence
from pathlib import Path

from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.sources import CodeDatasetSource, LocalArtifactDatasetSource
from mlflow.entities import DatasetInput, InputTag
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.git_utils import get_git_commit
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT, MLFLOW_GIT_COMMIT

from autoaug.modalities import DataInput
from autoaug.vocabulary import TAG_VERSION


class TaskDataset(MetaDataset):
    """One split of a search's data as an MLflow dataset: its name, digest and source, and as its profile the
    number of inputs and classes (MLflow's ``MetaDataset`` records no profile)."""

    def __init__(self, source: DatasetSource, data: DataInput) -> None:
        self._profile = {"rows": data.rows, "classes": data.classes}
        super().__init__(source, name=data.name, digest=data.digest)

    @property
    def profile(self) -> dict[str, int]:
        """The split's size: inputs and classes."""
        return self._profile

    def to_dict(self) -> dict[str, str]:
        """MetaDataset's fields and the profile as JSON."""
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def dataset_inputs(data: Sequence[DataInput]) -> list[DatasetInput]:
    """The splits as run inputs tagged with their context (``training``, ``target``): a split read from the user's
    files has them as a local source, a built-in task's names the task (a code source)."""
    inputs = []
    for item in data:
        source = (LocalArtifactDatasetSource(str(item.path)) if item.path
                  else CodeDatasetSource({"task": item.task, "origin": item.origin}))
        entity = TaskDataset(source, item)._to_mlflow_entity()  # what mlflow.log_input logs
        inputs.append(DatasetInput(entity, tags=[InputTag(MLFLOW_DATASET_CONTEXT, item.context)]))
    return inputs


def source_tags() -> dict[str, str]:
    """MLflow's tags of the running program (``mlflow.user``, ``mlflow.source.name`` and ``.type``, ...), the
    commit of the autoaug checkout that runs (``mlflow.source.git.commit``, when it is one) and
    ``autoaug.version``."""
    tags = {key: str(value) for key, value in resolve_tags().items()}
    commit = get_git_commit(str(Path(__file__).resolve().parents[1]))
    if commit:
        tags[MLFLOW_GIT_COMMIT] = commit
    tags[TAG_VERSION] = importlib.metadata.version("autoaug")
    return tags
