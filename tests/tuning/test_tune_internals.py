"""The private parts of Ray Tune the search relies on (``autoaug/tuning/_tune_internals.py``) are still there.

When one of these fails after upgrading Ray, adapt that module to the new release (and its RAY_VERSION).
"""

from __future__ import annotations

import importlib
import inspect
import logging

import optuna
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from autoaug.tuning import _tune_internals as internals


def _asked_searcher() -> OptunaSearch:
    searcher = OptunaSearch(
        space=lambda trial: {"x": trial.suggest_float("x", 0, 1)}, metric="score", mode="max",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    assert searcher.suggest("tune-trial-1") is not None
    return searcher


def test_ray_is_the_version_the_internals_were_read_from() -> None:
    assert ray.__version__ == internals.RAY_VERSION, "read _tune_internals.py against the new Ray, then update it"


def test_the_optuna_searcher_keeps_its_study_asked_and_told_trials_and_metrics() -> None:
    searcher = _asked_searcher()
    assert isinstance(internals.optuna_study(searcher), optuna.Study)
    assert isinstance(internals.asked_trials(searcher)["tune-trial-1"], optuna.Trial)
    searcher.on_trial_complete("tune-trial-1", {"score": 0.5})
    assert "tune-trial-1" in internals.told_trials(searcher)
    assert internals.objective_metrics(searcher) == ["score"]


def test_asha_keeps_the_trials_of_its_rungs_by_id() -> None:
    scheduler = ASHAScheduler(metric="score", mode="max")
    assert isinstance(scheduler._trial_info, dict)
    internals.forget_rung_trial(scheduler, "absent")


def test_a_tuner_still_takes_a_resume_config_through_its_private_keyword() -> None:
    assert "_tuner_kwargs" in inspect.signature(tune.Tuner.__init__).parameters
    assert "resume_config" in inspect.signature(
        importlib.import_module("ray.tune.impl.tuner_internal").TunerInternal.__init__
    ).parameters


def test_tune_still_logs_the_restore_failure_the_resume_watches_for() -> None:
    controller = importlib.import_module(internals.RESTORE_FAILED_LOGGER)
    assert logging.getLogger(internals.RESTORE_FAILED_LOGGER) is controller.logger
    assert f'logger.exception("{internals.RESTORE_FAILED_MESSAGE}")' in inspect.getsource(controller)


def test_ray_still_keeps_a_node_on_127_0_0_1_when_clusters_are_off() -> None:
    constants = importlib.import_module("ray._private.ray_constants")
    assert constants.ENABLE_RAY_CLUSTERS_ENV_VAR == "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
    assert isinstance(constants.ENABLE_RAY_CLUSTER, bool)
    services = importlib.import_module("ray._private.services")
    assert "if not ray_constants.ENABLE_RAY_CLUSTER:" in inspect.getsource(services.get_node_ip_address)
