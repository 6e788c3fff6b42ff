"""Where the search's Optuna study is stored (beside a local MLflow store by default, named after the search), and
optuna-dashboard on it."""

from __future__ import annotations

import optuna
from sqlalchemy.exc import SQLAlchemyError

from autoaug.errors import ConfigError
from autoaug.records import database_file, local_store_dir

STUDY_FILE = "optuna.db"
"""The study database beside a local sqlite MLflow store (``mlruns/optuna.db``)."""


def study_storage_url(given: str | None, tracking_uri: str) -> str | None:
    """``given`` (``--study-storage``), else ``sqlite:///<store folder>/optuna.db`` for a local store; None (in
    memory) for a tracking server without one."""
    if given:
        return given
    folder = local_store_dir(tracking_uri)
    return f"sqlite:///{folder / STUDY_FILE}" if folder else None


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """The Optuna storage at ``url``, created if new.

    Raises:
        ConfigError: It cannot be opened.
    """
    try:
        return optuna.storages.RDBStorage(url)
    except (ValueError, ImportError, SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        raise ConfigError(f"--study-storage {url} cannot be used ({type(exc).__name__}: {exc})") from None


def open_study_storage(url: str | None, name: str, resume: bool) -> optuna.storages.BaseStorage | None:
    """The Optuna storage at ``url`` (None: in memory) for the study of search ``name``, checked before anything
    starts.

    Raises:
        ConfigError: It cannot be opened, or a new search's name is that of a study it already holds.
    """
    if url is None:
        return None
    storage = _rdb_storage(url)
    if not resume and name in {study.study_name for study in storage.get_all_studies()}:
        raise ConfigError(
            f"the Optuna study storage {url} already holds a study named {name!r} (an earlier search of that name): "
            f"choose another --name, or continue that search with --resume {name}"
        )
    return storage


def stored_studies(url: str | None) -> optuna.storages.RDBStorage:
    """The existing Optuna storage at ``url``, for reading.

    Raises:
        ConfigError: There is no study storage (a tracking server without ``--study-storage``), or its sqlite
            file does not exist: nothing is created.
    """
    if url is None:
        raise ConfigError("a tracking server keeps no Optuna study by default: give the search's --study-storage URL")
    path = database_file(url)
    if path is not None and not path.is_file():
        raise ConfigError(f"no Optuna studies at {url} ({path} does not exist): run `autoaug search` first, or give "
                          "the --study-storage or --tracking-uri of your searches")
    return _rdb_storage(url)


def serve_dashboard(storage: optuna.storages.BaseStorage, host: str, port: int) -> None:
    """Serve optuna-dashboard on ``storage`` until interrupted (Ctrl-C, or SIGTERM as Ctrl-C)."""
    import optuna_dashboard  # here: only this command serves it

    optuna_dashboard.run_server(storage, host=host, port=port)
