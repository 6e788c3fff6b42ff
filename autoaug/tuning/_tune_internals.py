"""The private parts of Ray Tune the search relies on, in one place.

Tied to ray==2.60.0, the version pinned in pyproject.toml. Every name below is private to Ray Tune
and may move in any release; ``tests/tuning/test_tune_internals.py`` checks each against the
installed Ray and fails, naming it, when an upgrade changes it. Upgrading Ray means rerunning that
test and adapting this module alone.

- ``OptunaSearch._ot_study``, ``._ot_trials``, ``._completed_trials``, ``._metric``: the study behind
  the searcher, the Optuna trial asked for each Tune trial, the Tune trials already told, the metrics.
- ``ASHAScheduler._trial_info``: the trials in the scheduler's rungs.
- ``Tuner(_tuner_kwargs={"resume_config": ...})``: a Tuner that restores a saved experiment into
  fresh objects (``Tuner.restore`` would unpickle the trainable, callbacks and searcher instead).
- The log line of ``ray.tune.execution.tune_controller`` when a saved state cannot be loaded, after
  which Tune starts the whole experiment over.
- ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` and its variable ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``:
  with clusters off, a node keeps the address 127.0.0.1, so the local runtime listens there only.
"""

from __future__ import annotations

from typing import Any

import os

import optuna
from ray import tune
from ray._private import ray_constants
from ray.tune import ResumeConfig
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

RAY_VERSION = "2.60.0"
"""The Ray release these internals were read from."""
RESTORE_FAILED_LOGGER = "ray.tune.execution.tune_controller"
RESTORE_FAILED_MESSAGE = "Failed to restore the run state."


def optuna_study(searcher: OptunaSearch) -> optuna.Study:
    """The Optuna study behind ``searcher``."""
    study: optuna.Study = searcher._ot_study
    return study


def asked_trials(searcher: OptunaSearch) -> dict[str, optuna.Trial]:
    """The Optuna trial ``searcher`` asked for each Tune trial still running, by Tune trial id."""
    trials: dict[str, optuna.Trial] = searcher._ot_trials
    return trials


def told_trials(searcher: OptunaSearch) -> set[str]:
    """The Tune trial ids whose outcome ``searcher`` has told the study."""
    told: set[str] = searcher._completed_trials
    return told


def objective_metrics(searcher: OptunaSearch) -> list[str]:
    """The metrics ``searcher`` tells the study, one per objective."""
    metric = searcher._metric
    return list(metric) if isinstance(metric, list) else [metric]


def forget_rung_trial(scheduler: ASHAScheduler, trial_id: str) -> None:
    """Drop a trial from ``scheduler``'s rungs (it never competes there)."""
    scheduler._trial_info.pop(trial_id, None)


def make_tuner(trainable: Any, tune_config: tune.TuneConfig, run_config: tune.RunConfig, resume: bool) -> tune.Tuner:
    """A Tuner for ``trainable``; with ``resume``, Tune reloads the saved trials and searcher into these objects."""
    return tune.Tuner(
        trainable,
        tune_config=tune_config,
        run_config=run_config,
        _tuner_kwargs={"resume_config": ResumeConfig()} if resume else None,
    )


def turn_clusters_off() -> None:
    """Keep the local node on 127.0.0.1, so that its gRPC servers listen there and nowhere else.

    Ray 2.60 turns a node address of 127.0.0.1 (``_node_ip_address``, ``--node-ip-address``) into the
    machine's own address, unless clusters are off, as on macOS and Windows:
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``. Ray reads that variable when it is imported, so this
    process sets its constant too; the variable reaches the processes the runtime starts.
    """
    os.environ[ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
