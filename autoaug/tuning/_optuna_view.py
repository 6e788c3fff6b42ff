"""Optuna's view of a search: its trials as plain data, for the records to store and compare with MLflow's."""

from __future__ import annotations

from typing import Any

import optuna

from autoaug.vocabulary import BASELINE_ATTR, DUPLICATE_ATTR, FAIL_REASON_ATTR, TUNE_TRIAL_ATTR


def optuna_view(study: optuna.Study) -> list[dict[str, Any]]:
    """One entry per Optuna trial: number, state, Tune trial id, values, failure reason and baseline.

    ``values`` holds one number per objective (one for a single-objective study). ``baseline`` names
    the baseline whose score warm-started the study at that point, ``duplicate_of`` the trial whose
    policy a proposal repeated (FAIL, replaced by a random draw); neither has a Tune trial of its own.
    """
    return [
        {
            "number": trial.number,
            "state": trial.state.name,
            "tune_trial_id": trial.user_attrs.get(TUNE_TRIAL_ATTR),
            "values": trial.values if trial.state == optuna.trial.TrialState.COMPLETE else None,
            "fail_reason": trial.user_attrs.get(FAIL_REASON_ATTR),
            "baseline": trial.user_attrs.get(BASELINE_ATTR),
            "duplicate_of": trial.user_attrs.get(DUPLICATE_ATTR),
        }
        for trial in study.get_trials(deepcopy=False)
    ]
