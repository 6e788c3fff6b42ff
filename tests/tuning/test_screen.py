"""The zero-training screen: candidates drawn from a space, measured, ranked and enqueued into Optuna."""

from __future__ import annotations

import csv
import io

import optuna
import pytest

from autoaug.config import Recipe
from autoaug.modalities import get_modality
from autoaug.modalities.image import Reference, fit_reference, resolve_weights
from autoaug.tuning import SearchSpace
from autoaug.tuning._screen import (
    Candidate,
    draw_candidates,
    enqueue_best,
    measure_policies,
    rank_candidates,
    screen_csv,
)
from autoaug.vocabulary import SCREEN_RANK
from synthetic import colour_task

RECIPE = Recipe(epochs=2, batch_size=32, lr=3e-3, seed=0, device="cpu", threads=1)
SPACE = SearchSpace(name="screen", structure="sequence", ops=("rotate", "invert", "gaussian_noise", "downscale"))


@pytest.fixture(scope="module")
def ranked() -> list[Candidate]:
    task, weights = colour_task(), resolve_weights("test_resnet", "none")
    reference: Reference = fit_reference(task, weights, RECIPE)
    candidates = draw_candidates(SPACE, 8, seed=0)
    policies = [candidate.policy for candidate in candidates]
    measured = measure_policies(get_modality("image"), reference, task, weights, policies, RECIPE)
    return rank_candidates(candidates, measured)


def test_candidates_are_drawn_from_the_space_reproducibly() -> None:
    first, again, other = (draw_candidates(SPACE, 4, seed) for seed in (0, 0, 1))
    assert [c.params for c in first] == [c.params for c in again] != [c.params for c in other]
    assert all(set(c.params) == {f"{op}.{k}" for op in SPACE.ops for k in "pm"} for c in first)
    assert first[0].policy == SPACE.suggest(optuna.trial.FixedTrial(first[0].params))


def test_the_screen_ranks_by_score_and_a_failing_policy_goes_last(ranked: list[Candidate]) -> None:
    scores = [candidate.score for candidate in ranked]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    expected = {"affinity", "feature_relevance", "feature_diversity", "screen_score"}
    assert all(expected <= set(candidate.measures) for candidate in ranked)
    broken = Candidate({}, ranked[0].policy)
    reranked = rank_candidates([broken, *ranked[:2]], ["RuntimeError: boom", ranked[0].measures, ranked[1].measures])
    assert reranked[-1].error == "RuntimeError: boom" and reranked[-1].score == float("-inf")


def test_the_best_candidates_are_enqueued_in_order_and_the_study_runs_them_first(ranked: list[Candidate]) -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    assert enqueue_best(study, ranked, 3) == 3
    for position, candidate in enumerate(ranked[:3], start=1):
        trial = study.ask()
        assert SPACE.suggest(trial) == candidate.policy
        assert trial.user_attrs[SCREEN_RANK] == position
        study.tell(trial, 0.5)
    follow_up = study.ask()
    assert SCREEN_RANK not in follow_up.user_attrs  # then the sampler proposes its own


def test_screen_csv_lists_every_candidate_and_marks_the_enqueued(ranked: list[Candidate]) -> None:
    failed = Candidate({}, ranked[0].policy, error="RuntimeError: boom")
    rows = list(csv.DictReader(io.StringIO(screen_csv([*ranked, failed], enqueued=2))))
    assert [row["enqueued"] for row in rows] == ["yes", "yes"] + ["no"] * (len(rows) - 2)
    assert float(rows[0]["screen_score"]) == pytest.approx(ranked[0].score)
    assert rows[-1]["error"] == "RuntimeError: boom" and rows[-1]["screen_score"] == ""
