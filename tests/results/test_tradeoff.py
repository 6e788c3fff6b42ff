"""Pareto front, knee and picks on rows whose answers are worked out by hand."""

from __future__ import annotations

import math

import pytest

from autoaug.errors import ConfigError
from autoaug.results import TrialRow, choose, knee, pareto_front
from autoaug.results._tradeoff import utopia_distances


def row(name: str, accuracy: float, affinity: float | None = None, diversity: float | None = None,
        outcome: str = "completed", baseline: str | None = None) -> TrialRow:
    metrics = {"val_accuracy": accuracy}
    if affinity is not None:
        metrics["affinity"] = affinity
    if diversity is not None:
        metrics["diversity"] = diversity
    return TrialRow(run_id=f"id-{name}", name=name, outcome=outcome, baseline=baseline, metrics=metrics, policy="")


# Front by hand: a (1.0, 1.0), b (0.8, 1.5), c (0.5, 2.0); d (0.7, 1.2) is dominated by b, e by a and b.
ROWS = [
    row("a", 0.40, 1.0, 1.0, baseline="none"),
    row("b", 0.55, 0.8, 1.5),
    row("c", 0.50, 0.5, 2.0),
    row("d", 0.60, 0.7, 1.2),
    row("e", 0.45, 0.6, 0.9),
]


def names(rows: list[TrialRow]) -> list[str]:
    return [r.name for r in rows]


def test_front_keeps_only_non_dominated_rows_ordered_by_affinity() -> None:
    assert names(pareto_front(ROWS)) == ["c", "b", "a"]


def test_knee_is_closest_to_utopia_after_min_max_normalisation() -> None:
    # Normalised over the front: a (1, 0) -> 1.0, b (0.6, 0.5) -> 0.640, c (0, 1) -> 1.0.
    front = pareto_front(ROWS)
    assert utopia_distances(front) == pytest.approx([1.0, math.hypot(0.4, 0.5), 1.0])
    assert knee(front).name == "b"


def test_picks() -> None:
    assert choose(ROWS, "best").row.name == "d"  # the most accurate overall, though dominated
    assert choose(ROWS, "pareto").row.name == "b"  # the most accurate on the front
    assert choose(ROWS, "knee").row.name == "b"
    assert "3 of 5 measured trials" in choose(ROWS, "knee").reason


def test_pareto_pick_differs_from_knee_when_the_front_disagrees() -> None:
    rows = [row("x", 0.9, 1.0, 1.0), row("y", 0.5, 0.9, 1.9), row("z", 0.6, 0.1, 2.0)]
    assert choose(rows, "pareto").row.name == "x"
    assert choose(rows, "knee").row.name == "y"


def test_identical_points_are_all_on_the_front_and_accuracy_then_name_break_knee_ties() -> None:
    rows = [row("p", 0.5, 0.9, 1.1), row("q", 0.7, 0.9, 1.1), row("r", 0.7, 0.9, 1.1)]
    assert names(pareto_front(rows)) == ["p", "q", "r"]
    assert choose(rows, "knee").row.name == "q"
    assert choose(rows, "pareto").row.name == "q"


def test_two_point_front_is_a_tie_broken_by_accuracy() -> None:
    rows = [row("low", 0.3, 1.0, 1.0), row("high", 0.6, 0.5, 2.0)]
    assert choose(rows, "knee").row.name == "high"


def test_a_single_point_is_the_front_and_the_knee() -> None:
    rows = [row("only", 0.5, 0.8, 1.3)]
    assert names(pareto_front(rows)) == ["only"]
    assert utopia_distances(pareto_front(rows)) == [0.0]
    assert choose(rows, "knee").row.name == "only"


def test_unmeasured_pruned_failed_and_non_finite_rows_are_left_out() -> None:
    rows = [
        row("kept", 0.4, 0.5, 1.0),
        row("pruned", 0.2, 0.9, 3.0, outcome="pruned"),
        row("failed", 0.0, 0.9, 3.0, outcome="failed"),
        row("no-diversity", 0.9, 1.0),
        row("nan", 0.9, math.nan, 3.0),
    ]
    assert names(pareto_front(rows)) == ["kept"]
    assert choose(rows, "best").row.name == "no-diversity"  # best needs no measures


def test_search_without_measures_gets_an_actionable_error() -> None:
    rows = [row("old-1", 0.4), row("old-2", 0.5)]
    with pytest.raises(ConfigError, match=r"--pick knee: none of the 2 completed trials of search 'old'.*--pick best"):
        choose(rows, "knee", "old")
    assert choose(rows, "best").row.name == "old-2"


def test_no_completed_trial_and_unknown_pick_are_errors() -> None:
    failed = [row("f", 0.0, outcome="failed")]
    for pick in ("best", "pareto"):
        with pytest.raises(ConfigError, match="no completed trial"):
            choose(failed, pick, "s")
    with pytest.raises(ConfigError, match="expected one of best, pareto, knee"):
        choose(ROWS, "median")
