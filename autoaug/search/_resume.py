"""Resuming a stopped search: its recorded settings, Tune's saved state, and its MLflow runs brought in line.

Ray Tune saves the experiment state (every trial's status plus the searcher, Optuna study included)
periodically and when the driver stops cleanly. MLflow is written as trials start and end, so after
a hard stop it can be ahead of that saved state. Resuming makes MLflow follow Tune's state:

- a trial Tune will run again (it was running or pending) keeps its child run, reopened;
- a finished trial keeps its run and outcome (an outcome the driver never wrote is taken from Tune);
- a run whose trial started after the last save is unknown to Tune and to the saved study: it is
  deleted (MLflow keeps deleted runs restorable) and the searcher proposes that slot again.

So each trial ends as one child run with one outcome, and none is counted twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import yaml
from mlflow import MlflowClient
from mlflow.entities import Run, RunStatus
from ray import tune
from ray.tune import ExperimentAnalysis
from ray.tune.experiment import Trial

from autoaug._yaml import validate
from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.policy import Policy
from autoaug.search._callback import TrialRecord, _failure_reason
from autoaug.search._searcher import BASELINE_KEY, POLICY_KEY
from autoaug.records._search import (
    TAG_NODE, TAG_OUTCOME, TAG_REASON, TAG_RETRIES, TAG_TRIAL_ID, SearchTracker, find_search, local_store_dir,
    store_client, trial_runs,
)

RESUME_FLAGS = ("address", "tracking_uri", "experiment", "storage_path", "concurrency", "max_failures")
"""Settings that may change when a search is resumed; everything else is the recorded config."""

_UNFINISHED = (Trial.PENDING, Trial.RUNNING, Trial.PAUSED)
# What Ray Tune logs when it cannot load a saved state, before it starts the whole experiment over.
_RESTORE_FAILED = "Failed to restore the run state."
_TUNE_CONTROLLER_LOGGER = "ray.tune.execution.tune_controller"


def tune_storage(config: SearchConfig, tracking_uri: str) -> str:
    """Where Tune keeps the search state: as configured, else beside a local store, else in the home folder."""
    if config.storage_path:
        return config.storage_path
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
    defaults = SearchConfig.model_fields
    tracking_uri = overrides.get("tracking_uri") or defaults["tracking_uri"].default
    experiment = overrides.get("experiment") or defaults["experiment"].default
    client = store_client(tracking_uri)
    parent = find_search(client, experiment, name)
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(parent.info.run_id, "config.yaml", folder)
        recorded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    recorded.update({key: value for key, value in overrides.items() if key in RESUME_FLAGS})
    return validate(SearchConfig, recorded, f"recorded config of search {name!r}", ConfigError)


def restored_trials(experiment_path: str) -> dict[str, Trial]:
    """The trials in Tune's last saved state of the search, by trial id.

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
        if record.getMessage() != _RESTORE_FAILED:
            return True
        cause = record.exc_info[1] if record.exc_info else None
        raise ConfigError(
            f"--resume: Ray Tune could not restore the saved state of the search ({type(cause).__name__}: {cause}); "
            "nothing was rerun. Resume from the --storage-path the search wrote, or start a new search"
        )

    tune_logger = logging.getLogger(_TUNE_CONTROLLER_LOGGER)
    tune_logger.addFilter(fail)
    try:
        yield
    finally:
        tune_logger.removeFilter(fail)


def resume_runs(
    tracker: SearchTracker, experiment: str, trials: dict[str, Trial], epochs: int, echo: Callable[[str], None]
) -> list[TrialRecord]:
    """Reattach ``tracker`` to the search's MLflow runs, brought in line with Tune's saved ``trials``."""
    client = tracker.client
    parent = find_search(client, experiment, tracker.search_name)
    if parent.info.status == RunStatus.to_string(RunStatus.FINISHED):
        raise ConfigError(f"search {tracker.search_name!r} already finished; there is nothing to resume")
    records, child_runs = [], {}
    for run in trial_runs(client, parent):
        trial = trials.get(run.data.tags.get(TAG_TRIAL_ID, ""))
        if trial is None:
            client.delete_run(run.info.run_id)
            echo(f"      {run.info.run_name:<32} discarded: started after the last saved state, proposed again")
            continue
        child_runs[trial.trial_id] = run.info.run_id
        records.append(_resumed_record(client, run, trial, epochs))
    tracker.attach(parent.info.run_id, child_runs)
    return records


def _resumed_record(client: MlflowClient, run: Run, trial: Trial, epochs: int) -> TrialRecord:
    tags, run_id = run.data.tags, run.info.run_id
    record = TrialRecord(
        trial.trial_id,
        run.info.run_name,
        Policy.from_json(trial.config[POLICY_KEY], source=f"trial {trial.trial_id}"),
        trial.config.get(BASELINE_KEY),
        node=tags.get(TAG_NODE, ""),
        retries=int(tags.get(TAG_RETRIES, "0")),
    )
    if trial.status in _UNFINISHED:  # Tune runs it again from its first epoch: reopen the same run
        for key in (TAG_OUTCOME, TAG_REASON):
            if key in tags:
                client.delete_tag(run_id, key)
        client.update_run(run_id, status="RUNNING")
        return record
    record.metrics = dict(run.data.metrics)
    record.epochs = int(trial.last_result.get("training_iteration", 0))
    if TAG_OUTCOME in tags and run.info.status != "RUNNING":
        record.outcome, record.reason = tags[TAG_OUTCOME], tags.get(TAG_REASON, "")
        return record
    # Tune saved the trial's end but the driver stopped before recording it.
    if trial.status == Trial.ERROR:
        record.outcome, record.reason = "failed", _failure_reason(trial)
    else:
        record.outcome = "completed" if record.epochs >= epochs else "pruned"
    client.set_tag(run_id, TAG_OUTCOME, record.outcome)
    if record.reason:
        client.set_tag(run_id, TAG_REASON, record.reason)
    client.set_terminated(run_id, "FAILED" if record.outcome == "failed" else "FINISHED")
    return record
