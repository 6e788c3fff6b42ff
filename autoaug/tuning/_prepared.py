"""A search with every input validated before any worker starts."""

from __future__ import annotations

from dataclasses import dataclass

from autoaug.config import SearchConfig
from autoaug.errors import SpaceError
from autoaug.modalities import Backbone, Modality, Task, get_modality
from autoaug.policy import Policy
from autoaug.records import check_store
from autoaug.tuning._space import SearchSpace, load_space, resolve_space_path


@dataclass(frozen=True)
class PreparedSearch:
    """A search whose inputs were all validated before any worker starts."""

    config: SearchConfig
    modality: Modality
    space: SearchSpace
    space_yaml: str
    baselines: dict[str, Policy]
    task: Task
    backbone: Backbone


def prepare_search(config: SearchConfig) -> PreparedSearch:
    """Validate the space, baselines, backbone, data, weights and tracking store; nothing is started yet.

    Raises:
        AutoaugError: The first problem found, naming the file, flag or value and what was expected.
    """
    modality = get_modality(config.data.modality)
    space_path = resolve_space_path(config.search.space)
    space = load_space(config.search.space)
    if space.modality != modality.name:
        raise SpaceError(
            f"{space_path}: modality: the space is for {space.modality} data, the search's is {modality.name} data "
            "(set modality in the space file or in the configuration)"
        )
    baselines = modality.select_baselines(config.search.baselines)
    backbone = modality.resolve_backbone(config.model)
    task = modality.load_task(config.data, config.training.seed)
    check_store(config.store.tracking_uri, config.store.experiment)
    return PreparedSearch(config, modality, space, space_path.read_text(encoding="utf-8"), baselines, task, backbone)
