"""Benchmark the built-in search: cost, where the time goes, and what the best policy is worth.

Runs the default search on the digits task once per seed (each in a fresh temporary MLflow store)
and writes ``benchmarks/results/search.json``::

    python benchmarks/search_benchmark.py --seeds 0 1 2
    python benchmarks/search_benchmark.py --seeds 0 --trials 4 --train-size 500   # a quick look

Figures per seed: wall time, trials per hour, the share of trial-slot time spent inside training,
augmentation and scoring (and, apart, in measuring each policy against the reference model) versus
start-up and orchestration, the reference model's cost, best target-validation accuracy versus
the baselines, and held-out target test accuracy of the best policy versus no augmentation and
TrivialAugmentWide. Medians across seeds are written beside them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from autoaug.config import load_config
from autoaug.results import TrialRow, best_row
from autoaug.tuning import SearchOutcome, prepare_search, run_search

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
_WORK_METRICS = ("seconds_train", "seconds_augment", "seconds_eval")
_MEASURE_METRIC = "seconds_measure"


def _summed_history(client: MlflowClient, row: TrialRow, metric: str) -> float:
    return sum(m.value for m in client.get_metric_history(row.run_id, metric))


def _metric(row: TrialRow | None, name: str) -> float | None:
    return row.metrics.get(name) if row else None


def measure(outcome: SearchOutcome, concurrency: int) -> dict[str, Any]:
    """The figures of one finished search."""
    client = MlflowClient(outcome.tracking_uri)
    work = sum(_summed_history(client, row, m) for row in outcome.rows for m in _WORK_METRICS)
    measure = sum(row.metrics.get(_MEASURE_METRIC, 0.0) for row in outcome.rows)
    reference = client.get_run(outcome.parent_run_id).data.metrics.get("reference_seconds")
    setup = [row.metrics["seconds_setup"] for row in outcome.rows if "seconds_setup" in row.metrics]
    searched = best_row(outcome.rows, searched_only=True)
    return {
        "wall_seconds": round(outcome.seconds, 1),
        "trials": len(outcome.rows),
        "trials_by_outcome": {o: sum(r.outcome == o for r in outcome.rows) for o in ("completed", "pruned", "failed")},
        "trials_per_hour": round(len(outcome.rows) / outcome.seconds * 3600, 1),
        "share_in_train_augment_score": round(work / (outcome.seconds * concurrency), 3),
        "share_in_measures": round(measure / (outcome.seconds * concurrency), 3),
        "reference_seconds": round(reference, 1) if reference is not None else None,
        "median_trial_setup_seconds": round(statistics.median(setup), 2) if setup else None,
        "best_trial": outcome.best.name if outcome.best else None,
        "best_policy": outcome.best.policy if outcome.best else None,
        "val_accuracy": {
            "best": _metric(outcome.best, "val_accuracy"),
            "best_searched": _metric(searched, "val_accuracy"),
            **{row.baseline: row.score for row in outcome.rows if row.baseline and row.outcome == "completed"},
        },
        "test_accuracy": {
            "best": _metric(outcome.best, "test_accuracy"),
            "best_searched": _metric(searched, "test_accuracy"),
            **{row.baseline: _metric(row, "test_accuracy") for row in outcome.rows if row.baseline},
        },
    }


def _median(runs: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(value)
    return round(statistics.median(values), 4) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--trials", type=int, help="searched trials (default: the search default)")
    parser.add_argument("--train-size", type=int, help="training images (default: the search default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="autoaug-bench-") as store:
            config = load_config(overrides={
                "seed": seed, "trials": args.trials, "train_size": args.train_size,
                "tracking_uri": f"sqlite:///{store}/mlflow.db", "name": f"benchmark-seed{seed}",
            })
            outcome = run_search(prepare_search(config))
            runs.append({"seed": seed, **measure(outcome, config.cluster.concurrency)})
            print(json.dumps(runs[-1], indent=2))
    keys = [("wall_seconds",), ("trials_per_hour",), ("share_in_train_augment_score",), ("share_in_measures",),
            ("reference_seconds",),
            *[(group, name) for group in ("val_accuracy", "test_accuracy")
              for name in ("best", "best_searched", "none", "trivial_augment_wide", "rand_augment")]]
    summary = {"/".join(key): _median(runs, *key) for key in keys}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"config": {name: value for name, value in config.settings().items()
                                                  if name not in {"tracking_uri", "seed"}},
                                       "seeds": args.seeds, "median": summary, "runs": runs}, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
