"""Where the search's Optuna study is stored: beside a local MLflow store by default, named after the search."""

from __future__ import annotations

import optuna
from sqlalchemy.exc import SQLAlchemyError

from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.records import local_store_dir

STUDY_FILE = "optuna.db"
"""The study database beside a local sqlite MLflow store (``mlruns/optuna.db``)."""


def study_storage_url(config: SearchConfig, tracking_uri: str) -> str | None:
    """``--study-storage``, else ``sqlite:///<store folder>/optuna.db`` for a local store; None (in memory) for a
    tracking server without one."""
    if config.store.study_storage:
        return config.store.study_storage
    folder = local_store_dir(tracking_uri)
    return f"sqlite:///{folder / STUDY_FILE}" if folder else None


def open_study_storage(url: str | None, name: str, resume: bool) -> optuna.storages.BaseStorage | None:
    """The Optuna storage at ``url`` (None: in memory), created if new, checked before anything starts.

    Raises:
        ConfigError: It cannot be opened, or a new search's name is that of a study it already holds.
    """
    if url is None:
        return None
    try:
        storage = optuna.storages.RDBStorage(url)
    except (ValueError, ImportError, SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        raise ConfigError(f"--study-storage {url} cannot be used ({type(exc).__name__}: {exc})") from None
    if not resume and name in {study.study_name for study in storage.get_all_studies()}:
        raise ConfigError(
            f"the Optuna study storage {url} already holds a study named {name!r} (an earlier search of that name): "
            f"choose another --name, or continue that search with --resume {name}"
        )
    return storage
