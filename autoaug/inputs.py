"""What a search configuration names, loaded and checked: the task's data and the baseline policies.

Shared by ``autoaug search`` and ``autoaug evaluate``, so both read the same data the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from autoaug.config import SearchConfig
from autoaug.modalities.image.data import TransferTask, get_task, load_folder_task
from autoaug.errors import ConfigError
from autoaug.policy import Policy, baseline_policies

__all__ = ["load_task", "select_baselines"]


def load_task(config: SearchConfig) -> TransferTask:
    """The transfer task of ``config``: a built-in task (see ``autoaug.modalities.image.data.list_tasks``) or the user's image folders.

    The same config (its ``seed`` included) always gives the same training subset and target split.
    """
    if config.task == "folders":
        return load_folder_task(
            Path(str(config.train_dir)),
            Path(str(config.val_dir)),
            config.test_dir,
            image_size=config.image_size,
            val_fraction=config.val_fraction,
            max_train_images=config.train_size,
            seed=config.seed,
        )
    return get_task(config.task).load(
        image_size=config.image_size, train_size=config.train_size, val_fraction=config.val_fraction, seed=config.seed
    )


def select_baselines(names: Iterable[str]) -> dict[str, Policy]:
    """The baseline policies called ``names``, in that order.

    Raises:
        ConfigError: If a name is not a known baseline (the message lists the known ones).

    Example:
        >>> list(select_baselines(["none", "rand_augment"]))
        ['none', 'rand_augment']
    """
    names = tuple(names)
    known = baseline_policies()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"baselines: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    return {name: known[name] for name in names}
