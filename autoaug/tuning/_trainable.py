"""One trial on a Ray worker: policy JSON in the config -> measure -> fine-tune -> per-epoch ``tune.report``.

The modality, the task data, the backbone and the search's reference arrive through Ray's object
store (``tune.with_parameters``), so a warm worker pays none of them again; building the models is
the only per-trial start-up.
"""

from __future__ import annotations

import time
from typing import Any

import ray
from ray import tune

from autoaug.config import Recipe
from autoaug.measures import diversity
from autoaug.modalities import Backbone, EpochResult, Modality, Reference, Task
from autoaug.ops import Op
from autoaug.policy import Policy
from autoaug.tuning._shipping import ensure_ops
from autoaug.vocabulary import DIVERSITY, NODE_KEY, POLICY_KEY, TEST_ACCURACY, TEST_MACRO_F1, TRAIN_LOSS


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """Flatten one epoch's result into the metric names reported to Tune and MLflow (``val_accuracy``, ...)."""
    return {
        TRAIN_LOSS: result.train_loss,
        **{f"val_{name}": value for name, value in result.metrics.items()},
        "seconds_train": result.seconds_train,
        "seconds_augment": result.seconds_augment,
        "seconds_eval": result.seconds_eval,
    }


def run_trial(
    config: dict[str, Any],
    *,
    modality: Modality,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    reference: Reference,
    user_ops: tuple[Op, ...] = (),
) -> None:
    """Measure the config's policy against ``reference``, fine-tune under it and report each epoch.

    Every epoch reports target-validation metrics, the policy's measures (``affinity``,
    ``feature_relevance``, ``feature_diversity``: taken before training, so a trial stopped early has
    them too) and ``diversity`` (this epoch's training loss over the reference's). The held-out
    target test split is scored once, after the last epoch, for the final report only; nothing
    ranks trials by it. The no-augmentation policy is the reference's own run (same weights, recipe
    and seed), so it is replayed instead of trained again.
    """
    started = time.perf_counter()
    ensure_ops(user_ops)
    policy = Policy.from_json(config[POLICY_KEY], source="trial config")
    setup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    # The same draws for every trial (seeded from the recipe), so that measures compare across trials.
    measures = modality.meter(reference, task, backbone, recipe)(policy)
    measure_seconds = time.perf_counter() - started

    node_id = ray.get_runtime_context().get_node_id()  # which cluster node ran the trial, for the records

    def report(result: EpochResult, test: dict[str, float] | None) -> None:
        metrics: dict[str, Any] = {
            **epoch_metrics(result),
            NODE_KEY: node_id,
            **measures,
            DIVERSITY: diversity(result.train_loss, reference.epochs[result.epoch - 1].train_loss),
        }
        if result.epoch == 1:
            metrics["seconds_setup"] = setup_seconds
            metrics["seconds_measure"] = measure_seconds
        if test is not None:
            metrics[TEST_ACCURACY] = test["accuracy"]
            metrics[TEST_MACRO_F1] = test["macro_f1"]
        tune.report(metrics)

    if policy.structure == "none":
        for result in reference.epochs:
            report(result, dict(reference.test_metrics) if result.epoch == recipe.epochs else None)
        return
    modality.train(policy, task, backbone, recipe, on_epoch=report)
