"""Policy proposals: baselines first, then Optuna's sampler over the search space (define-by-run)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import optuna
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch

from autoaug.policy import Policy
from autoaug.tuning._space import SearchSpace
from autoaug.tuning._tune_internals import asked_trials, objective_metrics, optuna_study, told_trials
from autoaug.vocabulary import (
    BASELINE_ATTR,
    BASELINE_KEY,
    DUPLICATE_ATTR,
    FAIL_REASON_ATTR,
    POLICY_KEY,
    SCREEN_RANK,
    TUNE_TRIAL_ATTR,
)

_MAX_REDRAWS = 20


class PolicySearcher(OptunaSearch):
    """Ray Tune searcher that proposes augmentation policies.

    Baseline policies are handed out first, as Tune trials of their own, so the results table shows
    what the search beat. When the space holds a baseline (a ``stacked`` space), its finished score
    is told to the study as a trial at that point (user attr ``baseline``): the sampler starts from
    the baselines (a warm start) and learns from them. Every searched trial then
    asks Optuna's sampler for a policy (or takes one enqueued in :attr:`study`, such as a screened
    candidate). A trial that the scheduler stopped before its last epoch is told to Optuna as PRUNED
    (Tune's own searcher would record it as COMPLETE), one that raised as FAIL. With lists of metrics
    and modes the study is multi-objective (TPE handles both). Each Optuna trial carries its Tune
    trial id (user attr ``tune_trial_id``) and, when it failed, the reason (``fail_reason``, read
    through :attr:`failure_reason`). A proposal whose policy already ran (a baseline again, or an
    earlier searched trial) would only repeat a result at the same seed: it is told to Optuna as
    FAIL (user attr ``duplicate_of`` names the trial it repeats), and a random draw from the space
    takes its place. The whole searcher, study included, is saved in Tune's experiment state, so a
    resumed search continues the same study; with ``storage`` (an RDB storage) the study named
    ``study_name`` is kept there too, for ``optuna.load_study``, optuna-dashboard and a resume.
    """

    failure_reason: Callable[[str], str] | None = None
    """Maps a Tune trial id to why it failed; set by the driver, never saved with the searcher."""

    def __init__(
        self,
        space: SearchSpace,
        baselines: dict[str, Policy],
        *,
        metric: str | list[str],
        mode: str | list[str],
        epochs: int,
        seed: int,
        startup_trials: int = 6,
        study_name: str | None = None,
        storage: optuna.storages.BaseStorage | None = None,
    ) -> None:
        self._search_space = space
        self._pending_baselines = list(baselines.items())
        self._baseline_trials: dict[str, str] = {}  # Tune trial id -> baseline name
        self._epochs = epochs
        self._redraw_seed = seed
        self._seen: dict[str, str] = {}  # policy JSON -> the trial (or baseline) that ran it
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials, multivariate=True)
        super().__init__(
            space=self._define_by_run, metric=metric, mode=mode, sampler=sampler, study_name=study_name, storage=storage
        )
        with warnings.catch_warnings():  # experimental in Optuna since 3.2, and unchanged since
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # optuna-dashboard and Optuna's plots then name the objectives ("val_accuracy", not "Objective 0").
            self.study.set_metric_names([metric] if isinstance(metric, str) else list(metric))

    @property
    def space(self) -> SearchSpace:
        """The space proposals are drawn from."""
        return self._search_space

    def narrow(self, ops: tuple[str, ...]) -> None:
        """Draw the searched ops from ``ops`` only, from the next proposal on (see :meth:`SearchSpace.with_ops`)."""
        self._search_space = self._search_space.with_ops(ops)

    def _define_by_run(self, trial: optuna.Trial) -> dict[str, Any]:
        config: dict[str, Any] = {POLICY_KEY: self._search_space.suggest(trial).to_json()}
        if SCREEN_RANK in trial.user_attrs:
            config[SCREEN_RANK] = trial.user_attrs[SCREEN_RANK]
        return config

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self._pending_baselines:
            name, policy = self._pending_baselines.pop(0)
            self._baseline_trials[trial_id] = name
            self._seen.setdefault(policy.to_json(), name)
            return {BASELINE_KEY: name, POLICY_KEY: policy.to_json()}
        config = super().suggest(trial_id)
        for redraw in range(_MAX_REDRAWS):
            if not isinstance(config, dict) or config[POLICY_KEY] not in self._seen:
                break
            duplicate = asked_trials(self).pop(trial_id)
            duplicate.set_user_attr(DUPLICATE_ATTR, self._seen[config[POLICY_KEY]])
            self.study.tell(duplicate, state=optuna.trial.TrialState.FAIL)
            self.study.enqueue_trial(self._search_space.random_params(seed=self._redraw_seed * 1000 + duplicate.number))
            config = super().suggest(trial_id)
        if isinstance(config, dict):
            self._seen.setdefault(config[POLICY_KEY], trial_id)
            asked_trials(self)[trial_id].set_user_attr(TUNE_TRIAL_ATTR, trial_id)
        return config

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id not in self._baseline_trials:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        told = told_trials(self)
        if trial_id in self._baseline_trials:
            if not error and result and trial_id not in told:
                self._warm_start(self._baseline_trials[trial_id], result)
                told.add(trial_id)
            return
        if trial_id in told:
            return
        if error or (result and result.get(TRAINING_ITERATION, self._epochs) < self._epochs):
            asked = asked_trials(self)[trial_id]
            if error and self.failure_reason is not None:
                asked.set_user_attr(FAIL_REASON_ATTR, self.failure_reason(trial_id))
            state = optuna.trial.TrialState.FAIL if error else optuna.trial.TrialState.PRUNED
            self.study.tell(asked, state=state)
            told.add(trial_id)
            return
        super().on_trial_complete(trial_id, result, error)

    def _warm_start(self, baseline: str, result: dict[str, Any]) -> None:
        """Tell the study a finished baseline's score at the point of the space that gives it."""
        point = self._search_space.baseline_point(baseline)
        if point is None:
            return
        metrics = objective_metrics(self)
        if any(metric not in result for metric in metrics):
            return
        self.study.add_trial(
            optuna.trial.create_trial(
                params={name: value for name, (value, _) in point.items()},
                distributions={name: distribution for name, (_, distribution) in point.items()},
                values=[float(result[metric]) for metric in metrics],
                user_attrs={BASELINE_ATTR: baseline},
            )
        )

    def save(self, checkpoint_path: str) -> None:
        reason, self.failure_reason = self.failure_reason, None  # a driver-side hook, not searcher state
        try:
            super().save(checkpoint_path)
        finally:
            self.failure_reason = reason

    def restore(self, checkpoint_path: str) -> None:
        reason = self.failure_reason
        super().restore(checkpoint_path)
        self.failure_reason = reason

    @property
    def study(self) -> optuna.Study:
        """The Optuna study behind the searched (non-baseline) trials."""
        return optuna_study(self)
