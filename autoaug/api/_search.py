"""``search`` and ``trials``: run a search, or read one back, as a :class:`SearchResult`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoaug.api._result import SearchResult
from autoaug.config import SearchConfig, StoreConfig, config_from, default_tracking_uri, load_config
from autoaug.errors import ConfigError
from autoaug.progress import Progress
from autoaug.results import TrialRow
from autoaug.vocabulary import TAG_PICK_RUN, TAG_VERDICT

DEFAULT_EXPERIMENT: str = StoreConfig.model_fields["experiment"].default


def resolve_config(config: SearchConfig | str | Path | None, overrides: dict[str, Any]) -> SearchConfig:
    """``config`` (a :class:`SearchConfig`, a YAML file, or None for the defaults) with ``overrides`` on top.

    The overrides are settings by their flat names, as the command line's flags (``trials=4`` is ``--trials 4``);
    None values are ignored.

    Raises:
        ConfigError: Naming each bad setting, with the allowed names.
    """
    if isinstance(config, SearchConfig):
        given = config.model_dump(exclude_unset=True)
        return config_from(given, overrides, "the given SearchConfig (with keyword arguments)") if overrides else config
    return load_config(None if config is None else Path(config), overrides)


def search(
    config: SearchConfig | str | Path | None = None,
    *,
    resume: str | None = None,
    echo: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> SearchResult:
    """Check everything, run (or resume) a search on Ray, and return its trials: ``autoaug search`` as a function.

    Progress is printed as the trials end (or given to ``echo`` and ``progress``); everything is recorded in MLflow,
    as by the command.

    Args:
        config: A :class:`~autoaug.config.SearchConfig`, a YAML configuration file, or None (the defaults: the
            built-in offline ``digits`` task).
        resume: Continue the stopped search of this name with its recorded settings (leave ``config`` out; only
            ``address``, ``tracking_uri``, ``experiment``, ``storage_path``, ``concurrency`` and ``max_failures``
            may be given).
        echo: Receives the search's lines (the header, each trial's end, the stages' results) instead of stdout.
        progress: Receives the stages' and trials' steps as they happen (``autoaug search`` draws them as bars).
        **overrides: Settings by the names of the command line's flags (``task="digits"``, ``trials=4``,
            ``train_size=200``, ``epochs=1``, ``tracking_uri=...``, ``name=...``); they override ``config``.

    Returns:
        The search's trials, its picks and where it is recorded.

    Raises:
        AutoaugError: A setting, the data, the backbone or the store is wrong (checked before anything starts).
        KeyboardInterrupt: The search was interrupted (its MLflow runs are closed first).

    Example:
        >>> import autoaug
        >>> result = autoaug.search(task="digits", trials=4, train_size=200, epochs=1)  # doctest: +SKIP
        >>> result.to_pandas()  # doctest: +SKIP
    """
    if resume and config is not None:
        raise ConfigError("--resume continues a search with its recorded settings; leave --config out")
    # Here: Ray, Optuna and MLflow load when a search runs, not with the package.
    from autoaug.records import existing_store_client
    from autoaug.tuning import prepare_search, print_line, recorded_config, run_search

    settings = recorded_config(resume, overrides) if resume else resolve_config(config, overrides)
    outcome = run_search(prepare_search(settings), echo or print_line, resume=bool(resume), progress=progress)
    client = existing_store_client(outcome.tracking_uri)
    return _from_parent(
        client.get_run(outcome.parent_run_id), outcome.tracking_uri, outcome.experiment, outcome.rows,
        finished=outcome.finished, seconds=outcome.seconds, selection=outcome.selection,
        config=settings.with_name(outcome.name),
    )


def trials(
    name: str | None = None, tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT
) -> SearchResult:
    """A recorded search's trials, read from the MLflow store: ``autoaug trials`` as a function.

    Args:
        name: The search (default: the latest one).
        tracking_uri: The MLflow store (default: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlruns/mlflow.db``); it
            must exist: nothing is created.
        experiment: The MLflow experiment.

    Raises:
        ConfigError: There is no such store or search.

    Example:
        >>> autoaug.trials("digits-demo").to_pandas()  # doctest: +SKIP
    """
    return recorded_search(name, tracking_uri, experiment)[2]


def recorded_search(name: str | None, tracking_uri: str | None, experiment: str) -> tuple[Any, Any, SearchResult]:
    """A client of the existing store, the search's MLflow parent run, and the search as its records hold it."""
    from autoaug.records import existing_store_client, find_search, load_trial_rows  # here: MLflow loads on reading

    uri = tracking_uri or default_tracking_uri()
    client = existing_store_client(uri)
    parent = find_search(client, experiment, name)
    return client, parent, _from_parent(parent, uri, experiment, load_trial_rows(client, parent))


def _from_parent(parent: Any, tracking_uri: str, experiment: str, rows: list[TrialRow], **known: Any) -> SearchResult:
    """The search of MLflow parent run ``parent`` with its ``rows``; ``known`` holds what only a search that just
    ran knows (and whether it finished, else read from the parent's status)."""
    status = parent.info.status.lower()
    tags = parent.data.tags
    known.setdefault("finished", status == "finished")
    return SearchResult(
        name=parent.info.run_name,
        parent_run_id=parent.info.run_id,
        tracking_uri=tracking_uri,
        experiment=experiment,
        rows=tuple(rows),
        status=status,
        verdict=tags.get(TAG_VERDICT),
        pick_run_id=tags.get(TAG_PICK_RUN),
        **known,
    )
