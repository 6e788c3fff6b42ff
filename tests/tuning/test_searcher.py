"""How the searcher tells Optuna about trials, single- and multi-objective (a real Optuna study, no Ray)."""

from __future__ import annotations

import optuna
import pytest

from autoaug.modalities.image import baseline_policies
from autoaug.tuning import PolicySearcher, SearchSpace, load_space

SPACE = SearchSpace(name="s", structure="sequence", ops=("rotate", "invert"))
MULTI = (["val_accuracy", "affinity", "diversity"], ["max", "max", "max"])


def _searcher(metric: str | list[str] = "val_accuracy", mode: str | list[str] = "max") -> PolicySearcher:
    return PolicySearcher(SPACE, {"none": baseline_policies()["none"]}, metric=metric, mode=mode, epochs=2, seed=0)


@pytest.mark.parametrize(("metric", "mode"), [("val_accuracy", "max"), MULTI])
def test_finished_stopped_and_crashed_trials_end_complete_pruned_and_failed(
    metric: str | list[str], mode: str | list[str]
) -> None:
    searcher = _searcher(metric, mode)
    assert searcher.suggest("baseline")["baseline"] == "none"  # baselines stay outside the study
    for trial_id in ("done", "stopped", "crashed"):
        searcher.suggest(trial_id)
    result = {"val_accuracy": 0.5, "affinity": 0.9, "diversity": 1.2, "training_iteration": 2}
    searcher.on_trial_complete("baseline", result)
    searcher.on_trial_complete("done", result)
    searcher.on_trial_complete("stopped", {**result, "training_iteration": 1})
    searcher.on_trial_complete("crashed", {**result, "training_iteration": 1}, error=True)
    states = [trial.state for trial in searcher.study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL]
    assert searcher.study.trials[0].values == ([0.5] if isinstance(metric, str) else [0.5, 0.9, 1.2])


def test_a_screened_trial_carries_its_rank_into_the_trial_config() -> None:
    searcher = _searcher(*MULTI)
    searcher.study.enqueue_trial({"rotate.p": 0.3, "rotate.m": 0.1, "invert.p": 0.0, "invert.m": 0.5},
                                 user_attrs={"screen_rank": 1})
    searcher.suggest("baseline")
    config = searcher.suggest("screened")
    assert config["screen_rank"] == 1 and config["rotate.p"] == 0.3
    assert "screen_rank" not in searcher.suggest("proposed")


def test_a_finished_baseline_warm_starts_a_space_that_holds_it() -> None:
    baselines = {name: baseline_policies()[name] for name in ("none", "rand_augment")}
    searcher = PolicySearcher(load_space("default"), baselines, metric="val_accuracy", mode="max", epochs=2, seed=0)
    assert searcher.suggest("b-none")["baseline"] == "none"
    assert searcher.suggest("b-ra")["baseline"] == "rand_augment"
    searcher.suggest("searched")
    searcher.on_trial_complete("b-ra", {"val_accuracy": 0.4, "training_iteration": 2})
    searcher.on_trial_complete("b-none", {"val_accuracy": 0.3, "training_iteration": 2}, error=True)  # no score
    warm = [trial for trial in searcher.study.trials if trial.user_attrs.get("baseline")]
    assert [(t.params, t.value, t.user_attrs["baseline"]) for t in warm] == [
        ({"base": "rand_augment", "extra_ops": 0}, 0.4, "rand_augment")
    ]
    searcher.on_trial_complete("b-ra", {"val_accuracy": 0.4, "training_iteration": 2})  # told once only
    assert sum(bool(t.user_attrs.get("baseline")) for t in searcher.study.trials) == 1


def test_a_space_without_the_baselines_is_not_warm_started() -> None:
    searcher = _searcher()
    searcher.suggest("baseline")
    searcher.on_trial_complete("baseline", {"val_accuracy": 0.5, "training_iteration": 2})
    assert searcher.study.trials == []


def test_a_proposal_that_repeats_a_policy_is_failed_and_replaced_by_a_fresh_random_draw() -> None:
    space = load_space("default")
    searcher = PolicySearcher(space, {"rand_augment": baseline_policies()["rand_augment"]}, metric="val_accuracy",
                              mode="max", epochs=2, seed=0)
    searcher.suggest("b-ra")
    searcher.study.enqueue_trial({"base": "rand_augment", "extra_ops": 0})  # the baseline's own point
    config = searcher.suggest("searched")
    assert config["policy_json"] != baseline_policies()["rand_augment"].to_json()
    duplicate, fresh = searcher.study.trials
    assert duplicate.state == optuna.trial.TrialState.FAIL and duplicate.user_attrs["duplicate_of"] == "rand_augment"
    assert fresh.user_attrs["tune_trial_id"] == "searched"
    searcher.study.enqueue_trial(fresh.params)  # the searched trial's point, again
    assert searcher.suggest("again")["policy_json"] != config["policy_json"]
    assert searcher.study.trials[2].user_attrs["duplicate_of"] == "searched"
