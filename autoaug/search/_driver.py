"""The search driver: validate everything, then Ray Tune + Optuna + ASHA, recorded in MLflow."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import ray
from ray import cloudpickle
import torch
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from autoaug.backbone import PretrainedWeights, check_model_name, resolve_weights
from autoaug.config import SearchConfig
from autoaug.data import TransferTask
from autoaug.inputs import load_task, select_baselines
from autoaug.ops import Op, list_ops
from autoaug.policy import Policy
from autoaug.results import TrialRow, best_row, load_trial_rows, rows_to_csv
from autoaug.search._callback import TrackingCallback
from autoaug.search._scheduler import BaselineKeepingASHA
from autoaug.search._searcher import PolicySearcher
from autoaug.space import SearchSpace, load_space, resolve_space_path
from autoaug.trainable import PRIMARY_METRIC, run_trial
from autoaug.tracking import SearchTracker, read_policy
from autoaug.train import Recipe

logger = logging.getLogger("autoaug.search")


@dataclass(frozen=True)
class SearchOutcome:
    """What a finished search leaves behind (everything is also in MLflow)."""

    name: str
    tracking_uri: str
    experiment: str
    parent_run_id: str
    rows: list[TrialRow]
    best: TrialRow | None
    skipped_files: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class PreparedSearch:
    """A search whose inputs were all validated before any worker starts."""

    config: SearchConfig
    space: SearchSpace
    space_yaml: str
    baselines: dict[str, Policy]
    task: TransferTask
    weights: PretrainedWeights


def prepare_search(config: SearchConfig) -> PreparedSearch:
    """Validate the space, baselines, backbone, data and weights; nothing is started yet."""
    space_path = resolve_space_path(config.space)
    space = load_space(config.space)
    baselines = select_baselines(config.baselines)
    check_model_name(config.backbone)
    task = load_task(config)
    weights = resolve_weights(config.backbone, config.weights)
    return PreparedSearch(config, space, space_path.read_text(encoding="utf-8"), baselines, task, weights)


def _sample_images(task: TransferTask, count: int = 6) -> torch.Tensor:
    """One training image from each of the first ``count`` classes, for the sample grids."""
    firsts = [int((task.train.labels == label).nonzero()[0]) for label in range(min(count, task.num_classes))]
    return task.train.images[firsts]


def _user_ops() -> tuple[Op, ...]:
    """Ops registered by the user's code; shipped to workers, by value where workers can't import them."""
    ops = tuple(op for op in list_ops() if not op.kernel.__module__.startswith("autoaug."))
    for module in {op.kernel.__module__ for op in ops} - {"__main__"}:
        cloudpickle.register_pickle_by_value(sys.modules[module])
    return ops


def _scheduler(config: SearchConfig) -> TrialScheduler:
    if not config.early_stopping or config.epochs < 2:
        return FIFOScheduler()
    return BaselineKeepingASHA(time_attr="training_iteration", max_t=config.epochs, grace_period=1, reduction_factor=2)


def _connect_ray(address: str | None) -> None:
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
        return
    temp_dir = tempfile.mkdtemp(prefix="autoaug-ray-", dir="/tmp")
    ray.init(include_dashboard=False, logging_level=logging.WARNING, _temp_dir=temp_dir)


def _tune_storage(tracking_uri: str) -> str:
    """Tune's experiment state lives beside a local store, else under the home folder."""
    if tracking_uri.startswith("sqlite:///"):
        return str(Path(tracking_uri.removeprefix("sqlite:///")).parent / "tune")
    return str(Path.home() / "autoaug_results")


def _trial_dirname(trial: Trial) -> str:
    return f"trial_{trial.trial_id}"


def print_line(line: str) -> None:
    """Default progress output (a module-level function, so Tune can pickle the callback holding it)."""
    print(line, flush=True)


def run_search(prepared: PreparedSearch, echo: Callable[[str], None] = print_line) -> SearchOutcome:
    """Run a prepared search to the end and return its ranked trials.

    Example:
        >>> outcome = run_search(prepare_search(load_config()))  # doctest: +SKIP
    """
    started = time.time()
    config = prepared.config.with_name(prepared.config.search_name())
    tracker = SearchTracker(config.tracking_uri, config.experiment, config.search_name())
    tracker.start_search(config.model_dump(mode="json"), prepared.space_yaml)
    total = len(prepared.baselines) + config.trials
    echo(
        f"search {config.search_name()!r}: {len(prepared.baselines)} baselines + {config.trials} searched trials, "
        f"{config.concurrency} at a time; backbone {config.backbone} ({prepared.weights.source}); "
        f"{len(prepared.task.train)} training / {len(prepared.task.val)} validation / {len(prepared.task.test)} test images"
    )
    if prepared.task.skipped:
        echo(f"skipped {len(prepared.task.skipped)} unreadable image files (listed in the log)")

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter honours verbose=0
    torch.set_num_threads(1)
    _connect_ray(config.address)
    recipe = Recipe(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        threads=max(1, int(config.cpus_per_trial)),
    )
    callback = TrackingCallback(tracker, _sample_images(prepared.task), config.epochs, total, echo)
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial, task=prepared.task, weights=prepared.weights, recipe=recipe, user_ops=_user_ops()
        ),
        {"cpu": config.cpus_per_trial, "gpu": config.gpus_per_trial},
    )
    searcher = PolicySearcher(
        prepared.space, prepared.baselines, metric=PRIMARY_METRIC, mode="max", epochs=config.epochs, seed=config.seed
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=_scheduler(config),
            metric=PRIMARY_METRIC,
            mode="max",
            num_samples=total,
            max_concurrent_trials=config.concurrency,
            reuse_actors=True,
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=config.search_name(),
            storage_path=_tune_storage(tracker.tracking_uri),
            callbacks=[callback],
            verbose=0,
        ),
    )
    status = "FAILED"
    try:
        tuner.fit()
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        callback.close_unfinished("the search stopped before this trial ended")
        rows = load_trial_rows(tracker.client, tracker.client.get_run(tracker.parent_run_id))
        best = best_row(rows)
        best_policy = read_policy(tracker.client, tracker.client.get_run(best.run_id)) if best else None
        tracker.finish_search(_summary(rows, best), rows_to_csv(rows), best_policy, status=status)
    return SearchOutcome(
        name=config.search_name(),
        tracking_uri=tracker.tracking_uri,
        experiment=config.experiment,
        parent_run_id=tracker.parent_run_id,
        rows=rows,
        best=best,
        skipped_files=prepared.task.skipped,
        seconds=time.time() - started,
    )


def _summary(rows: list[TrialRow], best: TrialRow | None) -> dict[str, float]:
    summary: dict[str, float] = {
        "trials_completed": sum(r.outcome == "completed" for r in rows),
        "trials_pruned": sum(r.outcome == "pruned" for r in rows),
        "trials_failed": sum(r.outcome == "failed" for r in rows),
    }
    if best is not None:
        summary.update({f"best_{name}": value for name, value in best.metrics.items() if name.startswith(("val_", "test_"))})
    for row in rows:
        if row.baseline and row.outcome == "completed":
            summary[f"baseline_{row.baseline}_val_accuracy"] = row.score
            if "test_accuracy" in row.metrics:
                summary[f"baseline_{row.baseline}_test_accuracy"] = row.metrics["test_accuracy"]
    return summary
