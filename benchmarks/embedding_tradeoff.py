"""Measure what each embedding op trades on the built-in tasks: macro AUC against unseen-class AUROC.

For each task it trains the head under no augmentation, the paper's four fixed ops (at their published
setting) and each other embedding op at one middle setting, on 5 seeds (the same seeds for every
policy: paired), for the task's default epochs and for 2.5 times as many, scored on the held-out
target test split. Writes ``benchmarks/results/embedding_tradeoff.json``::

    python benchmarks/embedding_tradeoff.py                      # news and digits-embed
    python benchmarks/embedding_tradeoff.py --tasks news

``tasks.TASK.epochs.E.POLICY`` holds each metric's mean over the seeds and, for every policy but
``none``, its paired gap to ``none`` (mean and std over the seeds). An op can only win the embedding
benchmark's bar (better than no augmentation in macro AUC *and* in unseen-class AUROC) where both
gaps are positive here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any

import torch
from embedding_benchmark import RESULTS, mean_std

from autoaug.config import load_config
from autoaug.modalities import get_modality
from autoaug.policy import OpSpec, Policy

METRICS = ("macro_auc", "unseen_auroc", "accuracy")
OTHER_OPS = {"gaussian_noise": 0.5, "feature_dropout": 0.4, "class_interpolate": 0.5, "class_extrapolate": 0.2}
"""The ops beyond the paper's four, each at a middle normalised magnitude, applied to every sample."""


def policies() -> dict[str, Policy]:
    """No augmentation, the paper's four at their setting and each of :data:`OTHER_OPS`."""
    modality = get_modality("embedding")
    chosen = dict(modality.baselines())
    for op, magnitude in OTHER_OPS.items():
        step = OpSpec(op, 1.0, magnitude)
        chosen[f"{op}@{magnitude}"] = Policy("subpolicies", sub_policies=((step,),), modality="embedding")
    return chosen


def run_task(task_name: str, seeds: list[int], scale: float) -> dict[str, Any]:
    """The task's entry: every policy at the default epochs and at ``scale`` times as many."""
    config = load_config(overrides={"modality": "embedding", "task": task_name})
    modality = get_modality("embedding")
    task = modality.load_task(config.data, config.training.seed)
    head = modality.resolve_backbone(config.model)
    budgets = (config.recipe.epochs, round(config.recipe.epochs * scale))
    entry: dict[str, Any] = {"seeds": seeds, "epochs": {}}
    for epochs in budgets:
        scores = {name: {m: [] for m in METRICS} for name in policies()}
        for name, policy in policies().items():
            for seed in seeds:
                _, test = modality.train(policy, task, head, dataclasses.replace(config.recipe, seed=seed, epochs=epochs))
                for metric in METRICS:
                    scores[name][metric].append(test[metric])
        entry["epochs"][str(epochs)] = {name: _summary(by_metric, scores["none"]) for name, by_metric in scores.items()}
        print(task_name, epochs, json.dumps({n: {m: s[m].get("gap_to_none", {}).get("mean") for m in METRICS}
                                             for n, s in entry["epochs"][str(epochs)].items()}), flush=True)
    return entry


def _summary(by_metric: dict[str, list[float]], none: dict[str, list[float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for metric, values in by_metric.items():
        summary[metric] = {"mean": round(statistics.mean(values), 4)}
        if values != none[metric]:
            summary[metric]["gap_to_none"] = mean_std([a - b for a, b in zip(values, none[metric], strict=True)])
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["news", "digits-embed"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--scale", type=float, default=2.5, help="the longer budget, in default budgets")
    parser.add_argument("--output", type=Path, default=RESULTS / "embedding_tradeoff.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    earlier = json.loads(args.output.read_text()) if args.output.is_file() else {}
    tasks: dict[str, Any] = earlier.get("tasks", {})
    for task in args.tasks:
        tasks[task] = run_task(task, args.seeds, args.scale)
        args.output.write_text(json.dumps({"tasks": tasks}, indent=1) + "\n")


if __name__ == "__main__":
    main()
