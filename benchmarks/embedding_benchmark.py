"""Benchmark the embedding modality: what the searched policy is worth on fresh seeds, and the search's cost.

For each task it runs the default embedding search once (its own temporary MLflow store), takes the
policy the search exports, then trains the head under that policy, no augmentation and each of the
paper's four fixed augmentations on fresh seeds (the same seeds for every policy: paired), scored on
the held-out target test split. Writes ``benchmarks/results/embedding.json``::

    python benchmarks/embedding_benchmark.py                          # news and digits-embed, 5 seeds
    python benchmarks/embedding_benchmark.py --tasks digits-embed     # one task; the others' entries stay
    python benchmarks/embedding_benchmark.py --epochs 50 --output benchmarks/results/embedding_50_epochs.json

``best_fixed`` is the paper augmentation with the highest mean test macro AUC over the seeds (the
choice most favourable to the baselines); ``paired_gap`` is the exported policy's score minus
``best_fixed``'s, seed by seed. Throughput comes from the news search: trials per hour and the share
of trial-slot time spent training, augmenting and scoring (as in ``search_benchmark.py``); the image
figure is the median trials per hour of ``benchmarks/results/search.json`` (digits, same machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import torch
from mlflow import MlflowClient
from search_benchmark import measure

from autoaug.config import load_config
from autoaug.modalities.embedding import PAPER_OPS
from autoaug.records import read_trial_policy
from autoaug.tuning import prepare_search, run_search

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("macro_auc", "unseen_auroc", "accuracy", "macro_f1", "ece")
EXPORTED = "exported"


def mean_std(values: list[float]) -> dict[str, float]:
    """Mean and sample std, rounded to 4 places."""
    return {"mean": round(statistics.mean(values), 4), "std": round(statistics.stdev(values), 4)}


def run_task(
    task: str, trials: int, seeds: list[int], folder: Path, epochs: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One search on ``task`` (its default epochs unless ``epochs``), then every policy on ``seeds``: the task's
    entry and the search's cost."""
    config = load_config(overrides={
        "modality": "embedding", "task": task, "trials": trials, "name": f"bench-{task}",
        "tracking_uri": f"sqlite:///{folder}/mlruns/mlflow.db", "epochs": epochs,
    })  # fmt: skip
    prepared = prepare_search(config)
    outcome = run_search(prepared)
    assert outcome.best is not None, "the search completed no trial"
    client = MlflowClient(outcome.tracking_uri)
    policies = {EXPORTED: read_trial_policy(client, client.get_run(outcome.best.run_id))}
    policies.update(prepared.modality.select_baselines(["none", *PAPER_OPS]))
    scores: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in policies}
    for seed in seeds:
        recipe = dataclasses.replace(config.recipe, seed=seed)
        for name, policy in policies.items():
            _, test = prepared.modality.train(policy, prepared.task, prepared.backbone, recipe)
            for metric in METRICS:
                scores[name][metric].append(test[metric])
    best_fixed = max(PAPER_OPS, key=lambda op: statistics.mean(scores[op]["macro_auc"]))
    gaps = {m: [a - b for a, b in zip(scores[EXPORTED][m], scores[best_fixed][m], strict=True)] for m in METRICS}
    entry = {
        "seeds": seeds,
        "epochs": config.training.epochs,
        "exported": f"{outcome.best.name}: {outcome.best.policy}",
        "best_fixed": best_fixed,
        "metrics": {name: {m: mean_std(values) for m, values in by_metric.items()} for name, by_metric in scores.items()},
        "paired_gap": {m: mean_std(values) for m, values in gaps.items()},
    }
    return entry, measure(outcome, config.cluster.concurrency)


def _write(path: Path, tasks: dict[str, Any], costs: dict[str, Any]) -> dict[str, Any]:
    """The result so far (the throughput of the first task searched), written to ``path``."""
    first = next(iter(costs.values()))
    image = json.loads((RESULTS / "search.json").read_text())["median"]["trials_per_hour"]
    result = {
        "tasks": tasks,
        "throughput": {
            "task": next(iter(costs)),
            "trials_per_hour": first["trials_per_hour"],
            "share_in_train_score": first["share_in_train_augment_score"],
            "image_trials_per_hour": image,
        },
        "searches": costs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["news", "digits-embed"])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--epochs", type=int, help="epochs per trial (default: each task's own)")
    parser.add_argument("--output", type=Path, default=RESULTS / "embedding.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    earlier = json.loads(args.output.read_text()) if args.output.is_file() else {}
    tasks: dict[str, Any] = earlier.get("tasks", {})  # a run of some tasks keeps the others' entries
    costs: dict[str, Any] = earlier.get("searches", {})
    with tempfile.TemporaryDirectory(prefix="autoaug-embedding-bench-") as folder:
        for task in args.tasks:  # written after each task, so a late failure keeps the earlier ones
            tasks[task], costs[task] = run_task(task, args.trials, args.seeds, Path(folder) / task, args.epochs)
            result = _write(args.output, tasks, costs)
    print(json.dumps(result["throughput"]), json.dumps({t: e["paired_gap"] for t, e in tasks.items()}))


if __name__ == "__main__":
    main()
