"""Scores of repeated fine-tunes: one row per fine-tune, the mean and spread per policy, their gaps.

Pure numbers: no torch, Ray or MLflow.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

from autoaug.errors import ConfigError

__all__ = [
    "DEFAULT_REPEATS",
    "Comparison",
    "PolicyStats",
    "SeedResult",
    "check_seeds",
    "compare",
    "evaluation_seeds",
    "summarise",
]

DEFAULT_REPEATS = 3
"""Seeds an evaluation takes by default: the ones after the search's."""


@dataclasses.dataclass(frozen=True)
class SeedResult:
    """One fine-tune: a policy under one seed.

    Attributes:
        policy: Label of the policy (a baseline name or the evaluated file's label).
        seed: Seed of the model's head initialisation, the shuffling and the augmentation draws.
        test_accuracy: Accuracy on the held-out target test split.
        val_accuracy: Accuracy on the target validation split (what a search ranks by).
        train_loss: Mean training loss of the last epoch.
        seconds: Wall time of the fine-tune and its scoring.
    """

    policy: str
    seed: int
    test_accuracy: float
    val_accuracy: float
    train_loss: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class PolicyStats:
    """Held-out test accuracy of one policy across seeds.

    Attributes:
        policy: Label of the policy.
        seeds: The seeds, in the order they ran.
        values: Test accuracy for each seed.
        mean: Mean of ``values``.
        std: Sample standard deviation of ``values`` (n - 1 in the denominator).
    """

    policy: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    mean: float
    std: float


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A policy against a baseline.

    ``clear`` is the verdict: the gap in mean test accuracy exceeds one standard deviation, taking the
    larger of the two policies' standard deviations (the stricter reading).

    Attributes:
        policy: Label of the evaluated policy.
        baseline: Label of the baseline.
        gap: ``mean(policy) - mean(baseline)``.
        std: The larger of the two standard deviations.
        clear: True if ``gap > std``.
    """

    policy: str
    baseline: str
    gap: float
    std: float
    clear: bool


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """The seeds as a tuple, checked: at least two (a standard deviation needs them), distinct, >= 0.

    Raises:
        ConfigError: If they are not.
    """
    seeds = tuple(seeds)
    if len(seeds) < 2:
        raise ConfigError(f"seeds: need at least 2 seeds for a standard deviation, got {list(seeds)} (try --repeats 3)")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: each seed must appear once, got {list(seeds)}")
    if min(seeds) < 0:
        raise ConfigError(f"seeds: must be >= 0, got {list(seeds)}")
    return seeds


def evaluation_seeds(seeds: Sequence[int] | None, repeats: int | None, search_seed: int) -> tuple[int, ...]:
    """The seeds an evaluation fine-tunes with: ``seeds``, else the ``repeats`` (default 3) seeds after ``search_seed``.

    The search trained every trial with ``search_seed`` and picked its best policy at that seed, so by
    default the evaluation leaves it out.

    Example:
        >>> evaluation_seeds(None, None, 0), evaluation_seeds(None, 2, 7), evaluation_seeds([0, 4], None, 0)
        ((1, 2, 3), (8, 9), (0, 4))
    """
    if seeds:
        return tuple(seeds)
    count = DEFAULT_REPEATS if repeats is None else repeats
    return tuple(range(search_seed + 1, search_seed + 1 + count))


def summarise(results: Sequence[SeedResult]) -> list[PolicyStats]:
    """Mean and sample standard deviation of the test accuracy per policy, in first-seen order."""
    by_policy: dict[str, list[SeedResult]] = {}
    for result in results:
        by_policy.setdefault(result.policy, []).append(result)
    stats = []
    for label, runs in by_policy.items():
        values = tuple(run.test_accuracy for run in runs)
        std = statistics.stdev(values) if len(values) > 1 else math.nan
        stats.append(PolicyStats(label, tuple(run.seed for run in runs), values, statistics.fmean(values), std))
    return stats


def compare(policy: PolicyStats, baseline: PolicyStats) -> Comparison:
    """How far ``policy`` is ahead of ``baseline`` in mean test accuracy, and whether by more than one std.

    Example:
        >>> a = PolicyStats("a", (0, 1), (0.6, 0.7), 0.65, 0.07)
        >>> b = PolicyStats("b", (0, 1), (0.5, 0.5), 0.5, 0.0)
        >>> compare(a, b).clear
        True
    """
    gap = policy.mean - baseline.mean
    std = max(policy.std, baseline.std)
    return Comparison(policy.policy, baseline.policy, gap, std, gap > std)
