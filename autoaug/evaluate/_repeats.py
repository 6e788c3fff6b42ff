"""Proving a policy: fine-tune under it and under baselines over several seeds, score the held-out test split.

Training and scoring only (torch and timm through :mod:`autoaug.modalities.image._train`); reporting, plots and MLflow
records live elsewhere. The fine-tunes run one after another in this process: each already uses every
core for its training steps (per-image augmentation is single-threaded by design), so running two at
once on a small machine would only split the same cores and pay the imports and data twice.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from autoaug.modalities.image._backbone import PretrainedWeights, build_model
from autoaug.modalities.image.data import TransferTask
from autoaug.errors import ConfigError
from autoaug.policy import Policy
from autoaug.modalities.image._train import Recipe, finetune_and_test

__all__ = [
    "Comparison",
    "PolicyStats",
    "SeedResult",
    "check_seeds",
    "compare",
    "fine_tune_once",
    "run_evaluation",
    "summarise",
]


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


def run_evaluation(
    task: TransferTask,
    weights: PretrainedWeights,
    policies: Mapping[str, Policy],
    seeds: Sequence[int],
    recipe: Recipe,
    on_result: Callable[[SeedResult], None] | None = None,
) -> list[SeedResult]:
    """Fine-tune ``weights`` under every policy for every seed and score the held-out test split.

    Every fine-tune uses ``recipe`` with only its seed replaced, and starts from the same pre-trained
    weights. Seeds run in the outer loop, so an interrupted run still has whole seeds. The same
    arguments give the same results on the CPU.

    Args:
        task: Training data and the clean target validation and test splits.
        weights: Pre-trained weights to start from.
        policies: Policies by label, in the order to run them.
        seeds: Seeds to repeat each fine-tune with (see :func:`check_seeds`).
        recipe: Fine-tuning settings; its ``seed`` is ignored.
        on_result: Called after each fine-tune, e.g. to print progress.

    Returns:
        One result per seed and policy.

    Example:
        >>> results = run_evaluation(task, weights, {"none": Policy("none")}, [0, 1], Recipe(epochs=1))  # doctest: +SKIP
    """
    results = []
    for seed in check_seeds(seeds):
        for label, policy in policies.items():
            result = fine_tune_once(task, weights, label, policy, seed, recipe)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def fine_tune_once(
    task: TransferTask, weights: PretrainedWeights, label: str, policy: Policy, seed: int, recipe: Recipe
) -> SeedResult:
    """One fine-tune of ``weights`` under ``policy`` with ``recipe`` at ``seed``, scored on validation and test.

    The seed sets the head's initialisation, the shuffling and the augmentation draws; the same
    arguments give the same result on the CPU.
    """
    started = time.perf_counter()
    model = build_model(weights, task.num_classes, seed=seed)
    seeded = dataclasses.replace(recipe, seed=seed)
    epochs, test = finetune_and_test(model, task, seeded, weights.mean, weights.std, augment=policy.build())
    return SeedResult(
        policy=label,
        seed=seed,
        test_accuracy=test["accuracy"],
        val_accuracy=epochs[-1].metrics["accuracy"],
        train_loss=epochs[-1].train_loss,
        seconds=time.perf_counter() - started,
    )


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
