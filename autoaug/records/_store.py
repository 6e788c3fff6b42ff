"""The MLflow store: opened once per process, created and migrated under a lock, checked before anything starts."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from autoaug.errors import ConfigError
from autoaug.vocabulary import TAG_CHECKED

_MAX_PARAM_LENGTH = 500
_SQLITE = "sqlite:///"


def database_file(tracking_uri: str) -> Path | None:
    """The absolute path of a local sqlite store's database file; None for any other store."""
    if not tracking_uri.startswith(_SQLITE):
        return None
    return Path(tracking_uri.removeprefix(_SQLITE)).expanduser().resolve()


def prepare_store(tracking_uri: str) -> str:
    """Create the folder of a local sqlite store and return the URI with an absolute path.

    An absolute path keeps the store the same whichever directory a later command runs from.
    """
    db_path = database_file(tracking_uri)
    if db_path is None:
        return tracking_uri
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return _SQLITE + str(db_path)


def local_store_dir(tracking_uri: str) -> Path | None:
    """The folder of a local sqlite store (``mlruns/``), which also holds what a search keeps beside its
    records (artifacts, Tune's state, the cached reference); None for a tracking server."""
    return Path(tracking_uri.removeprefix(_SQLITE)).parent if tracking_uri.startswith(_SQLITE) else None


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>.lock`` beside a local sqlite store (no lock for other stores).

    MLflow creates and migrates a new sqlite store on first use; processes doing that at once corrupt it.
    """
    folder = local_store_dir(tracking_uri)
    if folder is None:
        yield
        return
    lock = folder / (tracking_uri.rsplit("/", 1)[-1] + ".lock")
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def store_client(tracking_uri: str) -> MlflowClient:
    """A client of the store at ``tracking_uri``; a local sqlite store is created or migrated under its lock."""
    uri = prepare_store(tracking_uri)
    if local_store_dir(uri) is None:
        return MlflowClient(uri)
    with store_lock(uri):
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # the first access creates and migrates the store
    return client


def existing_store_client(tracking_uri: str) -> MlflowClient:
    """A client of the store at ``tracking_uri`` for reading: it creates no folder, database or experiment.

    Raises:
        ConfigError: A local sqlite store's database file does not exist, or MLflow cannot open the store;
            naming the URI.
    """
    db_path = database_file(tracking_uri)
    if db_path is not None and not db_path.is_file():
        raise ConfigError(
            f"no MLflow store at {tracking_uri} ({db_path} does not exist): run `autoaug search` first, or point "
            "--tracking-uri or $MLFLOW_TRACKING_URI at the store that holds your searches"
        )
    try:
        client = MlflowClient(tracking_uri if db_path is None else _SQLITE + str(db_path))
        client.search_experiments(max_results=1)
    except (MlflowException, SQLAlchemyError) as exc:
        raise ConfigError(f"cannot read the MLflow store at {tracking_uri} ({cause(exc)})") from None
    return client


def cause(exc: Exception) -> str:
    """An exception as one line: its type and its message, cut to 600 characters."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:600]}"


# MLflow retries a tracking server 7 times with doubling back-off and waits 120 s per request: minutes
# before a wrong URL fails. The check before anything starts tries twice, 10 s per request.
_CHECK_ENVIRONMENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put back what was there."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_store(tracking_uri: str, experiment: str) -> None:
    """Open the store, get or create ``experiment`` and write a tag to it; a bad store fails in seconds.

    Raises:
        ConfigError: The store cannot be reached, created or written; naming the URI and the cause.
    """
    try:
        with environment(_CHECK_ENVIRONMENT):
            client = store_client(tracking_uri)
            experiment_id = open_experiment(client, experiment, create=True)
            client.set_experiment_tag(experiment_id, TAG_CHECKED, dt.datetime.now(dt.timezone.utc).isoformat())
    except (MlflowException, OSError, SQLAlchemyError) as exc:
        raise ConfigError(
            f"tracking store {tracking_uri} cannot be used ({cause(exc)}); check --tracking-uri: "
            "a tracking server must be running and reachable, a sqlite:/// store needs a folder it can create "
            "and write"
        ) from None


def _artifact_root(tracking_uri: str) -> str | None:
    """Artifacts of a local sqlite store live beside it (``mlruns/artifacts``); a server picks its own."""
    folder = local_store_dir(tracking_uri)
    return (folder / "artifacts").as_uri() if folder else None


def open_experiment(client: MlflowClient, name: str, create: bool) -> str:
    """The id of experiment ``name``; created (with its store migrated) only when ``create``."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if not create:
        raise ConfigError(f"no experiment {name!r} in the tracking store {client.tracking_uri}: run `autoaug search` first")
    with store_lock(client.tracking_uri):
        experiment = client.get_experiment_by_name(name)  # another process may have created it meanwhile
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(name, artifact_location=_artifact_root(client.tracking_uri))


def param_batch(values: dict[str, Any]) -> list[Param]:
    """Values as MLflow params for ``log_batch``, cut to a length every store accepts."""
    return [Param(key, str(value)[:_MAX_PARAM_LENGTH]) for key, value in values.items()]


def metric_batch(values: dict[str, float], step: int) -> list[Metric]:
    """Values as MLflow metrics for ``log_batch`` at ``step``, stamped now (so a later value of a step wins)."""
    timestamp = mlflow.utils.time.get_current_time_millis()
    return [Metric(key, float(value), timestamp, step) for key, value in values.items()]


def finite(values: dict[str, float]) -> dict[str, float]:
    """The values that are finite numbers (MLflow stores no NaN the same way everywhere)."""
    return {key: float(value) for key, value in values.items() if math.isfinite(value)}


def filter_value(value: str) -> str:
    """``value`` quoted for an MLflow filter string, which knows no escapes: in the quotes it does not hold.

    Raises:
        ConfigError: It holds both quote characters or a backslash, so no filter can name it.
    """
    quote = "'" if "'" not in value else '"'
    if quote in value or "\\" in value:
        raise ConfigError(f"{value!r} cannot be looked up in MLflow: it holds both quote characters or a backslash")
    return f"{quote}{value}{quote}"
