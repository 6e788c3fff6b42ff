"""The confirmation stage's statistics and decision rule, on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from autoaug.errors import ConfigError
from autoaug.results import paired_gap, select


def test_paired_gap_is_the_mean_and_spread_of_seed_by_seed_differences() -> None:
    # Differences 0.10, 0.20, 0.30: mean 0.2, std 0.1, t(0.975, 2) = 4.3027 -> half-width 0.2484.
    gap = paired_gap({1: 0.6, 2: 0.7, 3: 0.9}, {1: 0.5, 2: 0.5, 3: 0.6})
    assert gap.n == 3
    assert gap.mean == pytest.approx(0.2)
    assert gap.std == pytest.approx(0.1)
    assert gap.low == pytest.approx(0.2 - 4.302653 * 0.1 / math.sqrt(3), abs=1e-6)
    assert gap.high == pytest.approx(0.2 + 4.302653 * 0.1 / math.sqrt(3), abs=1e-6)
    assert gap.clear


def test_pairing_removes_the_shared_seed_effect() -> None:
    # Both policies swing by 0.2 between seeds, but one is always 0.05 ahead: a clear paired gap.
    gap = paired_gap({1: 0.35, 2: 0.55, 3: 0.45}, {1: 0.30, 2: 0.50, 3: 0.40})
    assert gap.mean == pytest.approx(0.05) and gap.std == pytest.approx(0.0, abs=1e-12) and gap.clear


def test_only_common_seeds_are_paired_and_one_seed_has_no_spread() -> None:
    gap = paired_gap({1: 0.5, 2: 0.9}, {2: 0.4, 3: 0.1})
    assert gap.n == 1 and gap.mean == pytest.approx(0.5)
    assert math.isnan(gap.std) and not gap.clear
    with pytest.raises(ConfigError, match="at least one seed"):
        paired_gap({1: 0.5}, {2: 0.5})


def test_a_gap_within_its_spread_is_not_clear() -> None:
    gap = paired_gap({1: 0.50, 2: 0.40, 3: 0.62}, {1: 0.45, 2: 0.45, 3: 0.45})
    assert gap.mean == pytest.approx(0.17 / 3) and gap.std > gap.mean and not gap.clear


SCORES = {
    "baseline-none": {1: 0.20, 2: 0.22, 3: 0.18},
    "baseline-ta": {1: 0.40, 2: 0.30, 3: 0.35},
    "trial-001": {1: 0.45, 2: 0.36, 3: 0.40},  # ahead of ta by 0.05, 0.06, 0.05
    "trial-002": {1: 0.60, 2: 0.25, 3: 0.35},  # ahead on average, but not beyond its spread
    "trial-003": {1: 0.10, 2: 0.10, 3: 0.10},
}
BASELINES = ["baseline-none", "baseline-ta"]


def test_the_pick_is_the_confirmed_candidate_with_the_largest_gap() -> None:
    selection = select(SCORES, BASELINES, ["trial-002", "trial-001", "trial-003"])
    assert selection.best_baseline == "baseline-ta"
    assert selection.pick == "trial-001" and not selection.pick_is_baseline
    assert list(selection.gaps) == ["trial-001", "trial-002", "trial-003"]  # best gap first
    assert selection.pick_gap is not None and selection.pick_gap.mean == pytest.approx(0.0533, abs=1e-4)
    assert "trial-001 beats the best baseline (baseline-ta) on 3 fresh seeds" in selection.verdict()
    assert selection.seeds == (1, 2, 3)


def test_without_a_confirmed_candidate_the_best_baseline_is_picked_and_the_verdict_says_so() -> None:
    selection = select(SCORES, BASELINES, ["trial-002", "trial-003"])
    assert selection.pick == "baseline-ta" and selection.pick_is_baseline and selection.pick_gap is None
    assert selection.verdict().startswith("no searched policy was confirmed better than the best baseline")
    assert "closest: trial-002" in selection.verdict()
    assert select(SCORES, BASELINES, []).verdict().startswith("no searched policy reached the confirmation stage")


def test_selection_needs_a_baseline_and_scores_for_everyone() -> None:
    with pytest.raises(ConfigError, match="at least one baseline"):
        select(SCORES, [], ["trial-001"])
    with pytest.raises(ConfigError, match="trial-009"):
        select(SCORES, BASELINES, ["trial-009"])
