"""Does the exported policy beat the free baselines on fresh seeds? One default search per built-in task.

For each task, exactly what a user would run, each step through the CLI in a fresh MLflow store:

1. ``autoaug search --task TASK`` at the task's default budget (confirmation stage included);
2. ``autoaug export`` (the confirmed pick, or the best baseline when nothing was confirmed);
3. ``autoaug evaluate`` of the exported file against none, TrivialAugmentWide, RandAugment and
   AutoAugment on fresh seeds (default 1-5: the search used seed 0, its confirmation 1000-1002),
   as two processes side by side (one per core), on the held-out target test split.

Then, from the records: the paired gap of the exported policy to the best baseline, seed by seed,
and of each pair of baselines (``baseline_separation``: does the task tell them apart beyond noise?);
how well each zero-training measure ranks the confirmed policies (Spearman against their mean
fine-tuned accuracy over the confirmation seeds); and, for ``--calibrate TASK``, the same search
without early stopping, replayed through the early-stopping rule to count how often a stopped
trial would have been the winner, plus the best accuracy after k trials (the default search, which stops
nothing early, is its own calibration run). Writes
``benchmarks/results/quality.json``::

    python benchmarks/quality_benchmark.py
    python benchmarks/quality_benchmark.py --tasks  # only refresh what derives from the stored scores
    python benchmarks/quality_benchmark.py --tasks digits --fresh-seeds 1 2 3 4 --calibrate \
        --recipe-args="--backbone test_resnet --weights none --train-size 200" --search-args="--trials 2"  # plumbing
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from mlflow import MlflowClient
from scipy import stats

from autoaug.config import load_config
from autoaug.records import CONFIRMATION_ARTIFACT, find_search, load_trial_rows
from autoaug.results import TrialRow
from autoaug.tuning._scheduler import rungs

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
BASELINES = ("none", "trivial_augment_wide", "rand_augment", "auto_augment")
EXPORTED = "exported"
AUTOAUG = str(Path(sys.executable).with_name("autoaug"))  # the CLI installed beside this interpreter
# Zero-training measures of a policy, signed so that higher should mean better.
SCREEN_MEASURES = {"feature_relevance": -1.0, "affinity": 1.0, "feature_diversity": 1.0}


def _autoaug(*args: str, log: Path) -> float:
    """Run one CLI command (output to ``log``) and return its wall time in seconds."""
    started = time.time()
    with log.open("w") as out:
        subprocess.run([AUTOAUG, *args], stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.time() - started


def _evaluate(task: str, policy: Path, seeds: list[int], work: Path, recipe: list[str]) -> dict[str, dict[int, float]]:
    """Held-out test accuracy per policy and seed: two ``autoaug evaluate`` processes, half the seeds each."""
    halves = [seeds[: len(seeds) // 2], seeds[len(seeds) // 2 :]]
    processes = []
    for index, half in enumerate(halves):
        folder = work / f"evaluate-{index}"
        if (folder / "evaluation.json").exists():  # kept from an earlier, interrupted run of the benchmark
            continue
        folder.mkdir(parents=True, exist_ok=True)
        command = [AUTOAUG, "evaluate", str(policy), "--task", task,
                   "--seeds", *map(str, half), "--baselines", *BASELINES,
                   "--tracking-uri", f"sqlite:///{folder}/mlflow.db",
                   "--output-json", str(folder / "evaluation.json"), "--plot", str(folder / "evaluation.png"), *recipe]
        processes.append(subprocess.Popen(command, stdout=(folder / "log.txt").open("w"), stderr=subprocess.STDOUT))
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"autoaug evaluate failed: see {work}/evaluate-*/log.txt")
    scores: dict[str, dict[int, float]] = {}
    for index in range(len(halves)):
        record = json.loads((work / f"evaluate-{index}" / "evaluation.json").read_text())
        for run in record["runs"]:
            scores.setdefault(run["policy"], {})[run["seed"]] = run["test_accuracy"]
    return scores


def _summary(values: dict[int, float]) -> dict[str, Any]:
    ordered = [values[seed] for seed in sorted(values)]
    return {"mean": statistics.fmean(ordered), "std": statistics.stdev(ordered), "per_seed": ordered}


def _paired(a: dict[int, float], b: dict[int, float]) -> dict[str, Any]:
    differences = [a[seed] - b[seed] for seed in sorted(a)]
    return {"mean": statistics.fmean(differences), "std": statistics.stdev(differences), "per_seed": differences,
            "ahead_on": sum(d > 0 for d in differences)}


def baseline_separation(test_accuracy: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each pair of baselines' paired gap on the fresh seeds (first minus second, seed by seed), and whether it is
    larger than its spread: a task tells two free baselines apart only where it is.

    Example:
        >>> scores = {"none": {"per_seed": [0.5, 0.6, 0.55]}, "rand_augment": {"per_seed": [0.7, 0.7, 0.72]}}
        >>> baseline_separation(scores)["none-rand_augment"]["separated"]
        True
    """
    present = [name for name in BASELINES if name in test_accuracy]
    pairs = {}
    for index, first in enumerate(present):
        for second in present[index + 1 :]:
            a, b = (dict(enumerate(test_accuracy[name]["per_seed"])) for name in (first, second))
            gap = _paired(a, b)
            separated = abs(gap["mean"]) > gap["std"]
            pairs[f"{first}-{second}"] = {"mean": gap["mean"], "std": gap["std"], "separated": separated}
    return pairs


def _screen_spearman(client: MlflowClient, confirmation: dict[str, Any]) -> dict[str, float | None]:
    """Spearman of each zero-training measure against the mean confirmation accuracy of the confirmed policies."""
    labels = sorted(confirmation["mean"])
    accuracy = [confirmation["mean"][label] for label in labels]
    found: dict[str, float | None] = {}
    for measure, sign in SCREEN_MEASURES.items():
        runs = [client.get_run(confirmation["run_ids"][label]).data.metrics for label in labels]
        values = [sign * metrics[measure] for metrics in runs if measure in metrics]
        rho = float(stats.spearmanr(values, accuracy).statistic) if len(values) == len(labels) > 2 else math.nan
        found[measure] = rho if math.isfinite(rho) else None  # None: too few policies, or a constant measure
    return found


def _curves(client: MlflowClient, rows: list[TrialRow]) -> dict[str, list[float]]:
    """Each completed searched trial's validation accuracy per epoch, in start order."""
    searched = sorted((row for row in rows if not row.baseline and row.outcome == "completed"), key=lambda r: r.start_time)
    return {row.name: [m.value for m in sorted(client.get_metric_history(row.run_id, "val_accuracy"),
                                               key=lambda m: m.step)] for row in searched}


def replay_early_stopping(curves: dict[str, list[float]], epochs: int, grace_fraction: float, factor: int,
                          top: int) -> dict[str, Any]:
    """Replay the searched-only ASHA rule on full learning curves, trials arriving in start order.

    A trial stops at the first rung where it scores below the ``1 - 1/factor`` quantile of the
    searched trials recorded at that rung before it (what ``SearchedOnlyASHA`` does with one trial
    finishing each rung at a time). Returns which trials would have been stopped and whether the
    winner (highest final accuracy) or any of the ``top`` best were among them.
    """
    recorded: dict[int, list[float]] = {rung: [] for rung in rungs(epochs, grace_fraction, factor)}
    stopped = []
    for name, curve in curves.items():
        for rung, seen in recorded.items():
            score = curve[rung - 1]
            cutoff = float(np.nanpercentile(seen, (1 - 1 / factor) * 100)) if seen else None
            seen.append(score)
            if cutoff is not None and score < cutoff:
                stopped.append(name)
                break
    final = sorted(curves, key=lambda name: -curves[name][-1])
    return {
        "rungs": list(recorded),
        "trials": len(curves),
        "stopped": stopped,
        "winner": final[0] if final else None,
        "winner_stopped": bool(final) and final[0] in stopped,
        f"top{top}_stopped": sum(name in stopped for name in final[:top]),
    }


def _best_after_k(rows: list[TrialRow]) -> list[float]:
    """Best completed validation accuracy (baselines included, as a user sees it) after each searched trial."""
    best = max((row.score for row in rows if row.baseline and row.outcome == "completed"), default=float("-inf"))
    curve = []
    for row in sorted((row for row in rows if not row.baseline), key=lambda r: r.start_time):
        if row.outcome == "completed":
            best = max(best, row.score)
        curve.append(best)
    return curve


def run_task(
    task: str, seeds: list[int], work: Path, calibrate: bool, recipe: list[str], search: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Search, export and evaluate one task; the figures for ``quality.json`` and the task's extras."""
    work.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{work}/mlruns/mlflow.db"
    name = f"quality-{task}"
    config = load_config(overrides={"task": task})
    searched = ("--task", task, "--tracking-uri", uri, *recipe, *search)
    client = MlflowClient(uri)
    timing = work / "search_seconds.txt"  # a finished search is kept when the benchmark runs again
    if not timing.exists():
        timing.write_text(f"{_autoaug('search', *searched, '--name', name, log=work / 'search.log')}\n")
    wall = float(timing.read_text())
    policy = work / f"{EXPORTED}.json"
    _autoaug("export", "--name", name, "--tracking-uri", uri, "-o", str(policy), log=work / "export.log")
    parent = find_search(client, "autoaug", name)
    confirmation = json.loads(Path(client.download_artifacts(parent.info.run_id, CONFIRMATION_ARTIFACT, str(work)))
                              .read_text())
    scores = _evaluate(task, policy, seeds, work, recipe)
    baseline_means = {b: statistics.fmean(scores[b].values()) for b in BASELINES}
    best_baseline = max(baseline_means, key=baseline_means.__getitem__)
    slots = min(config.cluster.concurrency * config.training.cpus_per_trial, os.cpu_count() or 1)
    rows = load_trial_rows(client, parent)
    figures = {
        "search_wall_minutes": round(wall / 60, 2),
        "search_cpu_minutes": round(wall / 60 * slots, 2),
        "epochs": config.training.epochs,
        "trials": {o: sum(r.outcome == o for r in rows) for o in ("completed", "pruned", "failed")},
        "fresh_seeds": seeds,
        "exported": confirmation["pick"],
        "exported_is_baseline": confirmation["pick_is_baseline"],
        "verdict": confirmation["verdict"],
        "confirmation": {"seeds": confirmation["seeds"], "best_baseline": confirmation["best_baseline"],
                         "paired_gap": confirmation["paired_gap"]},
        "best_baseline": best_baseline,
        "test_accuracy": {label: _summary(values) for label, values in scores.items()},
        "paired_gap": _paired(scores[EXPORTED], scores[best_baseline]),
    }
    extras: dict[str, Any] = {"screen": _screen_spearman(client, confirmation), "best_val_after_k": _best_after_k(rows)}
    if calibrate:
        full_rows = rows  # a search that stops nothing early has every trial's full curve
        if config.search.early_stopping or "--early-stopping" in search:
            full = f"{name}-no-stopping"
            _autoaug("search", *searched, "--name", full, "--no-early-stopping", "--confirm-seeds", "0",
                     log=work / "search-no-stopping.log")
            full_rows = load_trial_rows(client, find_search(client, "autoaug", full))
        extras["early_stopping"] = replay_early_stopping(
            _curves(client, full_rows), config.training.epochs, config.search.grace_fraction, config.search.reduction_factor,
            config.search.confirm_top
        )
        extras["early_stopping"]["best_val_after_k_without_stopping"] = _best_after_k(full_rows)
    return figures, extras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=["digits", "printed", "mnist-fewshot"],
                        help="tasks to run; none (a bare --tasks) only refreshes the figures derived from the file")
    parser.add_argument("--fresh-seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--calibrate", nargs="*", default=["digits"], help="tasks also searched without early stopping")
    parser.add_argument("--work", type=Path, default=Path("/tmp/autoaug-quality"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--recipe-args", default="", help="extra flags for search and evaluate (a quick look)")
    parser.add_argument("--search-args", default="", help="extra flags for the search alone")
    args = parser.parse_args()
    if len(args.fresh_seeds) < 4:
        parser.error("--fresh-seeds: give at least 4 (two evaluate processes of at least 2 seeds each)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    record: dict[str, Any] = {"tasks": {}, "screen_spearman": {}, "screen_spearman_by_measure": {}, "extras": {}}
    if args.output.exists():  # tasks run earlier (another invocation) are kept
        record.update(json.loads(args.output.read_text()))
    for figures in record["tasks"].values():  # derived from the stored per-seed scores, refreshed for every task
        figures["baseline_separation"] = baseline_separation(figures["test_accuracy"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    for task in args.tasks:
        figures, extras = run_task(task, args.fresh_seeds, args.work / task, task in args.calibrate,
                                   args.recipe_args.split(), args.search_args.split())
        record["tasks"][task] = {**figures, "baseline_separation": baseline_separation(figures["test_accuracy"])}
        record["screen_spearman"][task] = extras["screen"]["feature_relevance"]
        record["screen_spearman_by_measure"][task] = extras["screen"]
        record["extras"][task] = extras
        args.output.write_text(json.dumps(record, indent=2) + "\n")
        gap = figures["paired_gap"]
        print(f"{task}: exported {figures['exported']}, best baseline {figures['best_baseline']}, paired gap "
              f"{gap['mean']:+.3f} ± {gap['std']:.3f} over {len(args.fresh_seeds)} fresh seeds", flush=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
