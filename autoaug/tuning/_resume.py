"""Resuming a stopped search: its recorded settings and Ray Tune's saved state, checked before it is loaded.

Ray Tune saves the experiment state (every trial's status plus the searcher, Optuna study included)
periodically and when the driver stops cleanly; the records follow it (see ``autoaug.records``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune import ExperimentAnalysis
from ray.tune.experiment import Trial

from autoaug.config import GROUPS, RESUMABLE_GROUPS, SearchConfig, config_from
from autoaug.errors import ConfigError
from autoaug.records import SavedTrial, existing_store_client, find_search, local_store_dir, read_recorded_config
from autoaug.tuning._callback import failure_reason
from autoaug.tuning._tune_internals import RESTORE_FAILED_LOGGER, RESTORE_FAILED_MESSAGE

RESUME_FLAGS = tuple(name for group in RESUMABLE_GROUPS for name in GROUPS[group].model_fields)
"""Settings that may change when a search is resumed; everything else is the recorded config."""

_UNFINISHED = (Trial.PENDING, Trial.RUNNING, Trial.PAUSED)


def tune_storage(config: SearchConfig, tracking_uri: str) -> str:
    """Where Tune keeps the search state: as configured, else beside a local store, else in the home folder."""
    if config.cluster.storage_path:
        return config.cluster.storage_path
    folder = local_store_dir(tracking_uri)
    return str(folder / "tune" if folder else Path.home() / "autoaug_results")


def recorded_config(name: str, overrides: dict[str, Any]) -> SearchConfig:
    """The configuration search ``name`` was started with (from its MLflow parent run), plus ``overrides``.

    Raises:
        ConfigError: a setting other than :data:`RESUME_FLAGS` was given, or the search is not recorded.
    """
    fixed = sorted(set(overrides) - set(RESUME_FLAGS) - {"name"})
    if fixed:
        allowed = ", ".join("--" + flag.replace("_", "-") for flag in RESUME_FLAGS)
        given = ", ".join("--" + flag.replace("_", "-") for flag in fixed)
        raise ConfigError(f"--resume {name}: continues with the settings the search was started with; only {allowed} "
                          f"may be given, not {given}")
    store = SearchConfig().store
    client = existing_store_client(overrides.get("tracking_uri") or store.tracking_uri)
    parent = find_search(client, overrides.get("experiment") or store.experiment, name)
    recorded = read_recorded_config(client, parent)
    resumed = {key: value for key, value in overrides.items() if key in RESUME_FLAGS}
    return config_from(recorded, resumed, f"recorded config of search {name!r}")


def restored_trials(experiment_path: str) -> dict[str, Trial]:
    """The trials in Tune's last saved state of the search, by trial id (see :func:`saved_trial`).

    Raises:
        ConfigError: there is no saved state at ``experiment_path``.
    """
    if not tune.Tuner.can_restore(experiment_path):
        raise ConfigError(
            f"no saved Ray Tune state at {experiment_path}: resume where the search was started, or give the "
            "--storage-path it used (shared storage lets a driver resume on another machine)"
        )
    if Path(experiment_path).is_dir():  # a local folder; a remote store (s3://...) is trusted as configured
        check_state_is_private(Path(experiment_path))
    return {trial.trial_id: trial for trial in ExperimentAnalysis(experiment_path).trials}


def check_state_is_private(folder: Path) -> None:
    """Refuse Tune's saved state unless only this user can have written it: resuming unpickles it.

    Checks ``folder`` and everything directly in it (the experiment state, the searcher's pickle,
    ``tuner.pkl``, the trial folders).

    Raises:
        ConfigError: Naming the path, its owner or its mode, and the fix.
    """
    for path in (folder, *sorted(folder.iterdir())):
        try:
            info = path.stat()
        except OSError as error:  # e.g. a link to nowhere
            raise ConfigError(f"--resume: cannot check {path} ({error.strerror}); resume from state you trust") from None
        if info.st_uid != os.getuid():
            try:
                owner = f"user {pwd.getpwuid(info.st_uid).pw_name} (uid {info.st_uid})"
            except KeyError:
                owner = f"uid {info.st_uid}"
            problem = f"belongs to {owner}, not to you"
        elif info.st_mode & 0o022:
            writers = " and ".join(who for who, bit in (("its group", 0o020), ("others", 0o002)) if info.st_mode & bit)
            problem = f"is writable by {writers} (mode {info.st_mode & 0o777:o}; if nobody else wrote it: chmod go-w)"
        else:
            continue
        raise ConfigError(
            f"--resume: {path} {problem}. Resuming unpickles Ray Tune's saved state, which runs code as you: "
            "resume only from a --storage-path you trust like code, that no one else can write"
        )


@contextlib.contextmanager
def restore_or_fail(resume: bool) -> Iterator[None]:
    """While Tune starts, turn its log line about a saved state it could not load into an error.

    Tune would log it and start the search over from nothing; with ``resume`` False this does nothing.

    Raises:
        ConfigError: Tune could not restore the saved state, with its reason.
    """
    if not resume:
        yield
        return

    def fail(record: logging.LogRecord) -> bool:
        if record.getMessage() != RESTORE_FAILED_MESSAGE:
            return True
        cause = record.exc_info[1] if record.exc_info else None
        raise ConfigError(
            f"--resume: Ray Tune could not restore the saved state of the search ({type(cause).__name__}: {cause}); "
            "nothing was rerun. Resume from the --storage-path the search wrote, or start a new search"
        )

    tune_logger = logging.getLogger(RESTORE_FAILED_LOGGER)
    tune_logger.addFilter(fail)
    try:
        yield
    finally:
        tune_logger.removeFilter(fail)


def saved_trial(trial: Trial) -> SavedTrial:
    """What the records need of a trial in Tune's saved state."""
    return SavedTrial(
        trial.trial_id,
        unfinished=trial.status in _UNFINISHED,
        failed=trial.status == Trial.ERROR,
        epochs=int(trial.last_result.get("training_iteration", 0)),
        reason=failure_reason(trial) if trial.status == Trial.ERROR else "",
    )
