"""Early stopping that never stops a baseline: baselines are the reference every trial is read against."""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from autoaug.search._searcher import BASELINE_KEY


class BaselineKeepingASHA(ASHAScheduler):
    """ASHA whose rungs count baseline results, but which always lets baselines run to the end.

    A searched policy that scores below the no-augmentation baseline at a rung is stopped as usual;
    the baselines themselves always finish, so the final report has their held-out scores.
    """

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)
        if BASELINE_KEY in trial.config and decision == TrialScheduler.STOP:
            return TrialScheduler.CONTINUE
        return decision
