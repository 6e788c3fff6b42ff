"""Proving a policy: fine-tune under it and under baselines over several seeds, score the held-out test split.

Through the modality interface only; reporting, plots and MLflow records live elsewhere. The
fine-tunes run one after another in this process: each already uses every core for its training
steps (per-input augmentation is single-threaded by design), so running two at once on a small
machine would only split the same cores and pay the imports and data twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from autoaug.config import Recipe
from autoaug.modalities import Backbone, Modality, Task, fine_tune_once
from autoaug.policy import Policy
from autoaug.results import SeedResult, check_seeds


def repeat_fine_tunes(
    modality: Modality,
    task: Task,
    backbone: Backbone,
    policies: Mapping[str, Policy],
    seeds: Sequence[int],
    recipe: Recipe,
    on_result: Callable[[SeedResult], None] | None = None,
) -> list[SeedResult]:
    """Fine-tune ``backbone`` under every policy for every seed and score the held-out test split.

    Every fine-tune uses ``recipe`` with only its seed replaced, and starts from the same pre-trained
    weights. Seeds run in the outer loop, so an interrupted run still has whole seeds. The same
    arguments give the same results on the CPU.

    Args:
        modality: The modality of the task and the policies.
        task: Training data and the clean target validation and test splits.
        backbone: Pre-trained weights to start from.
        policies: Policies by label, in the order to run them.
        seeds: Seeds to repeat each fine-tune with (see :func:`autoaug.results.check_seeds`).
        recipe: Fine-tuning settings; its ``seed`` is ignored.
        on_result: Called after each fine-tune, e.g. to print progress.

    Returns:
        One result per seed and policy.
    """
    results = []
    for seed in check_seeds(seeds):
        for label, policy in policies.items():
            result = fine_tune_once(modality, task, backbone, label, policy, seed, recipe)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
