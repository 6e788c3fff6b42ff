"""The Ray Tune run of a search: the trainable, the searcher, early stopping and the Tuner that runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from autoaug.config import SearchConfig
from autoaug.progress import Progress
from autoaug.tuning._callback import TrackingCallback
from autoaug.tuning._prepared import PreparedSearch
from autoaug.tuning._resume import restore_or_fail
from autoaug.tuning._scheduler import SearchedOnlyASHA, rungs
from autoaug.tuning._screen import run_screen
from autoaug.tuning._searcher import PolicySearcher
from autoaug.tuning._start import StartedSearch, closed_on_error
from autoaug.tuning._target_match import run_target_match
from autoaug.tuning._trainable import run_trial
from autoaug.tuning._tune_internals import make_tuner
from autoaug.vocabulary import OBJECTIVE_METRICS, VAL_ACCURACY


@dataclass(frozen=True)
class TunerRun:
    """What runs the trials: the Tuner, its searcher (the Optuna study) and the callback that records them."""

    tuner: tune.Tuner
    searcher: PolicySearcher
    callback: TrackingCallback

    def fit(self, resume: bool) -> str:
        """Run the trials to the end (``"FINISHED"``) or until Ctrl-C (``"KILLED"``, Tune's state saved)."""
        self.callback.begin()
        try:
            with restore_or_fail(resume):  # else Tune starts over when it cannot load the saved state
                self.tuner.fit()  # returns early, with the state saved, on Ctrl-C
        finally:
            self.callback.end()
        return "FINISHED" if self.callback.finished else "KILLED"


def _scheduler(config: SearchConfig) -> TrialScheduler:
    # ASHA compares one scalar at each rung; in a multi-objective search a trial weak in accuracy can be
    # Pareto-optimal, and a stopped trial gives Optuna no objective values, so nothing is stopped there.
    settings = config.search
    epochs = config.training.epochs
    if (
        not settings.early_stopping
        or settings.objective != "accuracy"
        or not rungs(epochs, settings.grace_fraction, settings.reduction_factor)
    ):
        return FIFOScheduler()
    return SearchedOnlyASHA(epochs, settings.grace_fraction, settings.reduction_factor)


def _trial_dirname(trial: Trial) -> str:
    return f"trial_{trial.trial_id}"


def _searcher(prepared: PreparedSearch, config: SearchConfig, started: StartedSearch) -> PolicySearcher:
    metrics = list(OBJECTIVE_METRICS[config.search.objective])
    return PolicySearcher(
        prepared.space,
        prepared.baselines,
        metric=metrics if len(metrics) > 1 else metrics[0],
        mode=["max"] * len(metrics) if len(metrics) > 1 else "max",
        epochs=config.training.epochs,
        seed=config.training.seed,
        study_name=config.search_name(),
        storage=started.study_storage,
    )


def build_tuner(
    prepared: PreparedSearch,
    config: SearchConfig,
    started: StartedSearch,
    resume: bool,
    echo: Callable[[str], None],
    progress: Progress,
) -> TunerRun:
    """The Tuner of the search, with a new searcher (a resumed search gets its study back from Tune).

    A new search proposes the target-matching chain first (when found), then the best-screened
    candidates (with screening on).
    """
    total = len(prepared.baselines) + config.search.trials
    modality = prepared.modality
    callback = TrackingCallback(
        started.tracker, modality, modality.preview_inputs(prepared.task), config.training.epochs, total, echo,
        progress, len(prepared.task.val),
    )
    if resume:
        callback.adopt(started.resumed)
        echo(f"resuming: {sum(r.outcome != 'running' for r in started.resumed)} of {total} trials had ended")
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            modality=modality,
            task=prepared.task,
            backbone=prepared.backbone,
            recipe=config.recipe,
            reference=started.reference,
            user_ops=started.user_ops,
        ),
        config.resources,
    )
    searcher = _searcher(prepared, config, started)
    searcher.failure_reason = callback.failure_reason
    if config.search.target_match and not resume:  # a resumed search gets its study, proposals included, from Tune
        with closed_on_error(started.tracker):
            run_target_match(
                config, prepared.space, modality, prepared.task, prepared.backbone, started.reference,
                started.user_ops, searcher=searcher, tracker=started.tracker, echo=echo,
                progress=progress,
            )
    if config.search.screen and not resume:  # a resumed search gets its study, screened trials included, from Tune
        with closed_on_error(started.tracker):
            run_screen(
                config, prepared.space, modality, prepared.task, prepared.backbone, started.reference,
                started.user_ops, study=searcher.study, tracker=started.tracker, echo=echo,
                progress=progress,
            )
    tuner = make_tuner(
        trainable,
        tune.TuneConfig(
            search_alg=searcher,
            scheduler=_scheduler(config),
            metric=VAL_ACCURACY,
            mode="max",
            num_samples=total,
            max_concurrent_trials=config.cluster.concurrency,
            reuse_actors=True,
            trial_dirname_creator=_trial_dirname,
        ),
        tune.RunConfig(
            name=config.search_name(),
            storage_path=started.storage,
            callbacks=[callback],
            failure_config=tune.FailureConfig(max_failures=config.cluster.max_failures),
            verbose=0,
        ),
        resume,
    )
    return TunerRun(tuner, searcher, callback)
