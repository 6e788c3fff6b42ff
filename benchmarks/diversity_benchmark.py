"""Benchmark zero-training screening and the diversity/relevance measures on the digits task.

Three searches, each in a fresh temporary MLflow store (so each fits its own reference model), write
``benchmarks/results/diversity.json``::

    python benchmarks/diversity_benchmark.py                       # defaults below, minutes on 2 cores
    python benchmarks/diversity_benchmark.py --candidates 24 --top 6 --trials 12

* ``screen_all``: screen ``--candidates`` policies, then fine-tune every one of them in screen order
  (no early stopping). Gives the Spearman correlation between the screen score (and each measure)
  and fine-tuned target-validation accuracy over the same policies, and the accuracy-versus-budget
  curve in screen order next to the expected curve of a random order of the same policies.
* ``without_screen``: the usual search (TPE, ASHA) with ``--trials`` searched trials.
* ``with_screen``: screen ``--candidates`` policies and fine-tune only the best ``--top``.

Costs are wall seconds and CPU-seconds (trial-run seconds times CPUs per trial, plus the reference
and screen tasks) for each search.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from scipy.stats import spearmanr

from autoaug.config import SearchConfig, load_config
from autoaug.records import find_search, trial_runs
from autoaug.results import TrialRow
from autoaug.tuning import SearchOutcome, prepare_search, run_search

RESULTS = Path(__file__).resolve().parent / "results" / "diversity.json"
MEASURED = ("screen_score", "affinity", "reference_loss_ratio", "diversity", "feature_relevance", "feature_diversity")


def _search(settings: dict[str, Any]) -> tuple[SearchConfig, SearchOutcome, dict[str, Any]]:
    """Run one search in a fresh store; also return its trials' run records (seconds, screen rank)."""
    with tempfile.TemporaryDirectory(prefix="autoaug-bench-") as store:
        config = load_config(overrides={**settings, "tracking_uri": f"sqlite:///{store}/mlflow.db"})
        outcome = run_search(prepare_search(config))
        client = MlflowClient(outcome.tracking_uri)
        parent = find_search(client, config.store.experiment, config.name)
        runs = {
            run.info.run_id: {
                "seconds": (run.info.end_time - run.info.start_time) / 1000,
                "screen_rank": int(run.data.params["screen_rank"]) if "screen_rank" in run.data.params else None,
            }
            for run in trial_runs(client, parent)
        }
        return config, outcome, {"runs": runs, "parent": dict(parent.data.metrics)}


def _searched(outcome: SearchOutcome, records: dict[str, Any]) -> list[TrialRow]:
    """Searched trials in the order they were proposed (screen rank first, then trial number)."""
    rows = [row for row in outcome.rows if not row.baseline]
    return sorted(rows, key=lambda r: (records["runs"][r.run_id]["screen_rank"] or math.inf, r.name))


def _best_so_far(values: list[float]) -> list[float]:
    curve, best = [], -math.inf
    for value in values:
        best = max(best, value)
        curve.append(round(best, 4))
    return curve


def _expected_best_of_random_order(values: list[float]) -> list[float]:
    """E[max of the first k] over all orders of ``values``, for each k (exact, from the order statistics)."""
    ordered, n = sorted(values), len(values)
    curve = []
    for k in range(1, n + 1):
        # The i-th smallest (0-based) is the maximum of a random k-subset with probability C(i, k-1) / C(n, k).
        expected = sum(ordered[i] * math.comb(i, k - 1) for i in range(k - 1, n)) / math.comb(n, k)
        curve.append(round(expected, 4))
    return curve


def _cost(config: SearchConfig, outcome: SearchOutcome, records: dict[str, Any]) -> dict[str, float]:
    trial_seconds = sum(run["seconds"] for run in records["runs"].values())
    parent = records["parent"]
    tasks = parent.get("reference_seconds", 0.0) + parent.get("screen_seconds", 0.0) * config.cluster.concurrency
    return {
        "wall_seconds": round(outcome.seconds, 1),
        "cpu_seconds": round((trial_seconds + tasks) * config.training.cpus_per_trial, 1),
        "reference_seconds": round(parent.get("reference_seconds", 0.0), 1),
        "screen_seconds": round(parent.get("screen_seconds", 0.0), 1),
        "fine_tuned_trials": len(records["runs"]),
    }


def _summary(config: SearchConfig, outcome: SearchOutcome, records: dict[str, Any]) -> dict[str, Any]:
    searched = _searched(outcome, records)
    best = max(searched, key=lambda row: row.score, default=None)
    return {
        **_cost(config, outcome, records),
        "best_searched_val_accuracy": best.score if best else None,
        "best_searched_test_accuracy": best.metrics.get("test_accuracy") if best else None,
        "best_searched_policy": best.policy if best else None,
        "val_accuracy_after_k_trials": _best_so_far([row.score for row in searched]),
    }


def _correlations(rows: list[TrialRow]) -> dict[str, float | None]:
    """Spearman correlation of each measure with fine-tuned target-validation accuracy."""
    accuracy = [row.score for row in rows]
    correlations = {}
    for name in MEASURED:
        rho = float(spearmanr([row.metrics[name] for row in rows], accuracy).statistic)
        correlations[name] = None if math.isnan(rho) else round(rho, 3)  # NaN: a constant measure
    return correlations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=16, help="policies screened (and, in screen_all, tuned)")
    parser.add_argument("--top", type=int, default=4, help="screened policies fine-tuned in with_screen")
    parser.add_argument("--trials", type=int, default=8, help="searched trials in without_screen")
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backbone", help="timm model (default: the search default)")
    parser.add_argument("--weights", help="weights (default: the search default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    common = {"train_size": args.train_size, "seed": args.seed, "baselines": ("none", "trivial_augment_wide"),
              "backbone": args.backbone, "weights": args.weights}
    plans = {
        "screen_all": {"screen": args.candidates, "screen_top": args.candidates, "trials": args.candidates,
                       "early_stopping": False},
        "without_screen": {"trials": args.trials},
        "with_screen": {"screen": args.candidates, "screen_top": args.top, "trials": args.top},
    }
    searches: dict[str, Any] = {}
    config = None
    for name, plan in plans.items():
        config, outcome, records = _search({**common, **plan, "name": f"bench-{name}"})
        searches[name] = {"settings": plan, **_summary(config, outcome, records)}
        if name == "screen_all":
            rows = _searched(outcome, records)
            completed = [row for row in rows if row.outcome == "completed"]
            searches[name]["spearman_with_val_accuracy"] = _correlations(completed)
            searches[name]["expected_val_accuracy_after_k_random_order"] = _expected_best_of_random_order(
                [row.score for row in completed]
            )
            searches[name]["baselines_val_accuracy"] = {r.baseline: r.score for r in outcome.rows if r.baseline}
            searches[name]["baselines_test_accuracy"] = {
                r.baseline: r.metrics.get("test_accuracy") for r in outcome.rows if r.baseline
            }
            searches[name]["trials"] = [
                {"policy": row.policy, "val_accuracy": row.score,
                 **{m: round(row.metrics[m], 4) for m in MEASURED if m in row.metrics}}
                for row in rows
            ]
        print(json.dumps(searches[name], indent=2), flush=True)
    assert config is not None
    report = {
        "task": "digits",
        "config": {
            name: value for name, value in config.settings().items()
            if name in {"backbone", "weights", "image_size", "train_size", "epochs", "batch_size", "lr", "concurrency",
                        "cpus_per_trial", "seed"}
        },
        "screen_spearman": searches["screen_all"]["spearman_with_val_accuracy"]["screen_score"],
        "searches": searches,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
