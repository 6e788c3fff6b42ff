"""Early stopping calibrated to the epoch budget, comparing searched trials among themselves only."""

from __future__ import annotations

import math
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from autoaug.tuning._tune_internals import forget_rung_trial
from autoaug.vocabulary import BASELINE_KEY


def grace_epochs(epochs: int, grace_fraction: float) -> int:
    """The first rung: ``grace_fraction`` of the epoch budget, at least one epoch.

    Example:
        >>> grace_epochs(2, 0.25), grace_epochs(24, 0.25)
        (1, 6)
    """
    return max(1, math.floor(epochs * grace_fraction + 0.5))


def rungs(epochs: int, grace_fraction: float, reduction_factor: int) -> list[int]:
    """The epochs at which a searched trial can be stopped (before its last epoch).

    Example:
        >>> rungs(24, 0.25, 2), rungs(2, 0.25, 2), rungs(1, 0.25, 2)
        ([6, 12], [1], [])
    """
    found, rung = [], grace_epochs(epochs, grace_fraction)
    while rung < epochs:
        found.append(rung)
        rung *= reduction_factor
    return found


class SearchedOnlyASHA(ASHAScheduler):
    """ASHA whose rungs hold searched trials only; baselines always run to the end.

    A searched trial is stopped at a rung when it scores below the best ``1 / reduction_factor`` of
    the searched trials that reached that rung before it. The first searched trial at each rung
    always goes on, so a search never ends without a completed searched trial (unless every
    searched trial fails). Baselines are left out of the rungs: they are the yardstick of the
    confirmation stage, not rivals for a rung, and the heavier augmentation of a searched policy
    often starts slower than they do.
    """

    def __init__(self, epochs: int, grace_fraction: float, reduction_factor: int) -> None:
        super().__init__(
            time_attr="training_iteration",
            max_t=epochs,
            grace_period=grace_epochs(epochs, grace_fraction),
            reduction_factor=reduction_factor,
        )

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        if trial.config.get(BASELINE_KEY):
            return TrialScheduler.CONTINUE
        return super().on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        if trial.config.get(BASELINE_KEY):
            forget_rung_trial(self, trial.trial_id)
            return
        super().on_trial_complete(tune_controller, trial, result)
