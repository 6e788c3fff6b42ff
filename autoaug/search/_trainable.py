"""One trial on a Ray worker: policy JSON in the config -> measure -> fine-tune -> per-epoch ``tune.report``.

The task data, pre-trained weights and the search's reference arrive through Ray's object store
(``tune.with_parameters``), so a warm worker pays none of them again; building the models from the
shared state dicts is the only per-trial start-up.
"""

from __future__ import annotations

import time
from typing import Any

import ray
import torch
from ray import tune

from autoaug.modalities.image._backbone import PretrainedWeights, build_model
from autoaug.modalities.image.data import TransferTask
from autoaug.measures import diversity
from autoaug.ops import Op, list_ops, register_op
from autoaug.policy import Policy
from autoaug.modalities.image._reference import PolicyMeter, Reference
from autoaug.modalities.image._train import EpochResult, Recipe, finetune_and_test

PRIMARY_METRIC = "val_accuracy"
NODE_KEY = "node_id"


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """Flatten one epoch's result into the metric names reported to Tune and MLflow."""
    return {
        "train_loss": result.train_loss,
        **{f"val_{name}": value for name, value in result.metrics.items()},
        "seconds_train": result.seconds_train,
        "seconds_augment": result.seconds_augment,
        "seconds_eval": result.seconds_eval,
    }


def ensure_ops(ops: tuple[Op, ...]) -> None:
    """Register on this worker the ops the driver knows that the worker lacks (users' own ops)."""
    known = {op.name for op in list_ops()}
    for op in ops:
        if op.name not in known:
            register_op(
                op.name,
                low=op.low,
                high=op.high,
                signed=op.signed,
                uses_magnitude=op.uses_magnitude,
                description=op.description,
            )(op.kernel)


def run_trial(
    config: dict[str, Any],
    *,
    task: TransferTask,
    weights: PretrainedWeights,
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
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    ensure_ops(user_ops)
    policy = Policy.from_json(config["policy_json"], source="trial config")
    setup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    meter = PolicyMeter(reference, task, weights, recipe.device)
    # The same draws for every trial (seeded from the recipe), so that measures compare across trials.
    measures = meter.measure_policy(policy, recipe.seed)
    measure_seconds = time.perf_counter() - started

    node_id = ray.get_runtime_context().get_node_id()  # which cluster node ran the trial, for the records

    def report(result: EpochResult, test: dict[str, float] | None) -> None:
        metrics: dict[str, Any] = {
            **epoch_metrics(result),
            NODE_KEY: node_id,
            **measures,
            "diversity": diversity(result.train_loss, reference.train_loss(result.epoch)),
        }
        if result.epoch == 1:
            metrics["seconds_setup"] = setup_seconds
            metrics["seconds_measure"] = measure_seconds
        if test is not None:
            metrics["test_accuracy"] = test["accuracy"]
            metrics["test_macro_f1"] = test["macro_f1"]
        tune.report(metrics)

    if policy.structure == "none":
        for result in reference.epochs:
            report(result, reference.test_metrics if result.epoch == recipe.epochs else None)
        return
    started = time.perf_counter()
    model = build_model(weights, task.num_classes, seed=recipe.seed)
    setup_seconds += time.perf_counter() - started

    finetune_and_test(model, task, recipe, weights.mean, weights.std, augment=policy.build(), on_epoch=report)
