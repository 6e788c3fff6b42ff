"""Which trials the confirmation stage repeats, and on which seeds."""

from __future__ import annotations

from autoaug.results import TrialRow
from autoaug.tuning._confirm import confirmation_rows, confirmation_seeds


def _row(name: str, score: float, policy: str, outcome: str = "completed", baseline: str | None = None) -> TrialRow:
    return TrialRow(f"id-{name}", name, outcome, baseline, {"val_accuracy": score}, policy)


ROWS = [
    _row("baseline-none", 0.20, "none", baseline="none"),
    _row("baseline-ta", 0.30, "torchvision: TrivialAugmentWide()", baseline="trivial_augment_wide"),
    _row("baseline-aa", 0.10, "torchvision: AutoAugment()", outcome="failed", baseline="auto_augment"),
    _row("trial-000", 0.50, "torchvision: TrivialAugmentWide()"),  # the baseline's own point again
    _row("trial-001", 0.45, "downscale p0.50"),
    _row("trial-002", 0.44, "downscale p0.50"),  # the same policy as a better trial
    _row("trial-003", 0.60, "blur p0.90", outcome="pruned"),
    _row("trial-004", 0.40, "rotate p0.30"),
    _row("trial-005", 0.35, "jpeg p0.30"),
]


def test_the_best_distinct_completed_searched_trials_and_the_completed_baselines_are_repeated() -> None:
    baselines, candidates = confirmation_rows(ROWS, top=2)
    assert [row.name for row in baselines] == ["baseline-none", "baseline-ta"]
    assert [row.name for row in candidates] == ["trial-001", "trial-004"]
    assert confirmation_rows(ROWS, top=0)[1] == []


def test_confirmation_seeds_are_fresh() -> None:
    assert confirmation_seeds(0, 3) == (1000, 1001, 1002)
    assert confirmation_seeds(7, 2) == (1007, 1008)
    assert not set(confirmation_seeds(0, 3)) & {0, 1, 2, 3, 4, 5}  # the search's seed and evaluate's defaults
