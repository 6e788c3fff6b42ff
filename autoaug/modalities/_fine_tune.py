"""One fine-tune under a policy at a seed, scored: what evaluations and confirmation repeats are made of."""

from __future__ import annotations

import dataclasses
import time

from autoaug.config import Recipe
from autoaug.modalities._base import Backbone, Modality, Task
from autoaug.policy import Policy
from autoaug.results import SeedResult


def fine_tune_once(
    modality: Modality, task: Task, backbone: Backbone, label: str, policy: Policy, seed: int, recipe: Recipe
) -> SeedResult:
    """Fine-tune ``backbone`` under ``policy`` with ``recipe`` at ``seed``, scored on validation and test.

    The seed sets the model's initialisation, the shuffling and the augmentation draws; the same
    arguments give the same result on the CPU.
    """
    started = time.perf_counter()
    epochs, test = modality.train(policy, task, backbone, dataclasses.replace(recipe, seed=seed))
    return SeedResult(
        policy=label,
        seed=seed,
        test_accuracy=test["accuracy"],
        val_accuracy=epochs[-1].metrics["accuracy"],
        train_loss=epochs[-1].train_loss,
        seconds=time.perf_counter() - started,
    )
