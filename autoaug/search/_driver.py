"""The search driver: validate everything, then Ray Tune + Optuna + ASHA, recorded in MLflow."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import optuna
from ray import cloudpickle
import torch
from ray import tune
from ray.tune import ResumeConfig
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from autoaug.modalities.image._backbone import PretrainedWeights, check_model_name, resolve_weights
from autoaug.config import SearchConfig
from autoaug.modalities.image.data import TransferTask, describe_conversions
from autoaug.inputs import load_task, select_baselines
from autoaug.ops import Op, list_ops
from autoaug.policy import Policy
from autoaug.results._rows import TrialRow, best_row, load_trial_rows, rows_to_csv
from autoaug.search._agreement import OPTUNA_ARTIFACT, disagreements, optuna_view
from autoaug.search._callback import TrackingCallback
from autoaug.search._confirm import confirmation_seeds, run_confirmation
from autoaug.search._ray_connect import connect_ray
from autoaug.search._reference_stage import prepare_reference, reference_cache_dir
from autoaug.search._resume import restore_or_fail, restored_trials, resume_runs, tune_storage
from autoaug.search._scheduler import SearchedOnlyASHA, rungs
from autoaug.search._screen import run_screen
from autoaug.search._searcher import PolicySearcher
from autoaug.records._plots import log_search_plots
from autoaug.results._selection import Selection
from autoaug.search._space import SearchSpace, load_space, resolve_space_path
from autoaug.search._trainable import PRIMARY_METRIC, run_trial
from autoaug.records._search import SearchTracker, check_store, read_policy, trial_runs
from autoaug.modalities.image._train import Recipe

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
    study: optuna.Study | None = None
    finished: bool = True
    """False when the search stopped before its last trial ended (``autoaug search --resume`` continues it)."""
    selection: Selection | None = None
    """The confirmation stage's decision (None without one); ``best`` is its pick."""


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
    """Validate the space, baselines, backbone, data, weights and tracking store; nothing is started yet."""
    space_path = resolve_space_path(config.space)
    space = load_space(config.space)
    baselines = select_baselines(config.baselines)
    check_model_name(config.backbone)
    task = load_task(config)
    weights = resolve_weights(config.backbone, config.weights)
    check_store(config.tracking_uri, config.experiment)
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


# What each objective maximises; the first metric is what trials are ranked and reported by.
OBJECTIVES = {"accuracy": [PRIMARY_METRIC], "multi": [PRIMARY_METRIC, "affinity", "diversity"]}


def _scheduler(config: SearchConfig) -> TrialScheduler:
    # ASHA compares one scalar at each rung; in a multi-objective search a trial weak in accuracy can be
    # Pareto-optimal, and a stopped trial gives Optuna no objective values, so nothing is stopped there.
    if (
        not config.early_stopping
        or config.objective != "accuracy"
        or not rungs(config.epochs, config.grace_fraction, config.reduction_factor)
    ):
        return FIFOScheduler()
    return SearchedOnlyASHA(config.epochs, config.grace_fraction, config.reduction_factor)


def _trial_dirname(trial: Trial) -> str:
    return f"trial_{trial.trial_id}"


@contextlib.contextmanager
def _closed_on_error(tracker: SearchTracker) -> Iterator[None]:
    """Close the parent run as failed when a step before the trials raises (or is interrupted)."""
    try:
        yield
    except BaseException:
        tracker.finish_search({}, rows_to_csv([]), None, status="FAILED")
        raise


def print_line(line: str) -> None:
    """Default progress output (a module-level function, so Tune can pickle the callback holding it)."""
    print(line, flush=True)


def run_search(
    prepared: PreparedSearch, echo: Callable[[str], None] = print_line, resume: bool = False
) -> SearchOutcome:
    """Run a prepared search to the end and return its ranked trials.

    With ``resume``, continue the stopped search of the same name from Tune's saved state (trials,
    Optuna study) and its MLflow runs, instead of starting a new one.

    Example:
        >>> outcome = run_search(prepare_search(load_config()))  # doctest: +SKIP
    """
    started = time.time()
    config = prepared.config.with_name(prepared.config.search_name())
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter honours verbose=0
    torch.set_num_threads(1)
    connect_ray(config.address)  # before any record is written: a wrong address or token changes nothing
    tracker = SearchTracker(config.tracking_uri, config.experiment, config.search_name())
    storage = tune_storage(config, tracker.tracking_uri)
    if resume:
        saved = restored_trials(str(Path(storage) / config.search_name()))
        resumed = resume_runs(tracker, config.experiment, saved, config.epochs, echo)
    else:
        tracker.start_search(config.model_dump(mode="json"), prepared.space_yaml)
    total = len(prepared.baselines) + config.trials
    echo(
        f"search {config.search_name()!r}: {len(prepared.baselines)} baselines + {config.trials} searched trials, "
        f"{config.concurrency} at a time; backbone {config.backbone} ({prepared.weights.source}); "
        f"{len(prepared.task.train)} training / {len(prepared.task.val)} validation / {len(prepared.task.test)} test images"
    )
    if prepared.task.skipped:
        echo(f"skipped {len(prepared.task.skipped)} unreadable image files (listed in the log)")
    if prepared.task.conversions:
        converted = prepared.task.conversions
        echo(f"converted {sum(converted.values())} image file(s) to 8-bit RGB: {describe_conversions(converted)}")
    tracker.log_data_report(prepared.task.conversions, prepared.task.skipped)

    recipe = Recipe(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        threads=max(1, int(config.cpus_per_trial)),
    )
    resources = {"cpu": config.cpus_per_trial, "gpu": config.gpus_per_trial}
    user_ops = _user_ops()
    reference_started = time.time()
    with _closed_on_error(tracker):
        reference = prepare_reference(
            prepared.task, prepared.weights, recipe, reference_cache_dir(tracker.tracking_uri), resources, echo
        )
    tracker.log_search_metrics({
        "reference_val_accuracy": reference.clean_accuracy,
        "reference_train_loss": reference.train_loss(config.epochs),
        "reference_seconds": time.time() - reference_started,
    })
    callback = TrackingCallback(tracker, _sample_images(prepared.task), config.epochs, total, echo)
    if resume:
        callback.adopt(resumed)
        echo(f"resuming: {sum(r.outcome != 'running' for r in resumed)} of {total} trials had ended")
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            task=prepared.task,
            weights=prepared.weights,
            recipe=recipe,
            reference=reference,
            user_ops=user_ops,
        ),
        resources,
    )
    metrics = OBJECTIVES[config.objective]
    searcher = PolicySearcher(
        prepared.space,
        prepared.baselines,
        metric=metrics if len(metrics) > 1 else metrics[0],
        mode=["max"] * len(metrics) if len(metrics) > 1 else "max",
        epochs=config.epochs,
        seed=config.seed,
    )
    searcher.failure_reason = callback.failure_reason
    if config.screen and not resume:  # a resumed search gets its study, screened trials included, from Tune
        with _closed_on_error(tracker):
            run_screen(
                config, prepared.space, prepared.task, prepared.weights, recipe, reference, user_ops,
                study=searcher.study, tracker=tracker, echo=echo,
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
            storage_path=storage,
            callbacks=[callback],
            failure_config=tune.FailureConfig(max_failures=config.max_failures),
            verbose=0,
        ),
        # Resuming: Tune reloads the trials and the searcher (Optuna study included) into these fresh objects.
        _tuner_kwargs={"resume_config": ResumeConfig()} if resume else None,
    )
    status = "FAILED"
    try:
        with restore_or_fail(resume):  # else Tune starts over when it cannot load the saved state
            tuner.fit()  # returns early, with the state saved, on Ctrl-C
        status = "FINISHED" if callback.finished else "KILLED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        callback.close_unfinished(
            f"interrupted: the search stopped before this trial ended (autoaug search --resume {config.search_name()})"
        )
        _record_optuna_view(tracker, searcher, echo, check=status == "FINISHED")
        if status != "FINISHED":
            rows, best = _finish(tracker, status, None)
    selection = None
    if status == "FINISHED":
        try:
            selection = _confirm(tracker, prepared, recipe, resources, user_ops, echo)
        except BaseException as exc:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            _finish(tracker, status, None)
            raise
        rows, best = _finish(tracker, status, selection)
    return SearchOutcome(
        name=config.search_name(),
        tracking_uri=tracker.tracking_uri,
        experiment=config.experiment,
        parent_run_id=tracker.parent_run_id,
        rows=rows,
        best=best,
        skipped_files=prepared.task.skipped,
        seconds=time.time() - started,
        study=searcher.study,
        finished=status == "FINISHED",
        selection=selection,
    )


def _confirm(
    tracker: SearchTracker,
    prepared: PreparedSearch,
    recipe: Recipe,
    resources: dict[str, float],
    user_ops: tuple[Op, ...],
    echo: Callable[[str], None],
) -> Selection | None:
    """Run the confirmation stage on the finished trials (None when it is switched off or has no baseline)."""
    config = prepared.config
    if not config.confirm_seeds or config.objective != "accuracy":
        return None
    rows = load_trial_rows(tracker.client, tracker.client.get_run(tracker.parent_run_id))
    selection = run_confirmation(
        tracker, rows, task=prepared.task, weights=prepared.weights, recipe=recipe, resources=resources,
        user_ops=user_ops, seeds=confirmation_seeds(config.seed, config.confirm_seeds), top=config.confirm_top,
        echo=echo,
    )
    if selection is not None:
        echo(f"confirmation: {selection.verdict()}")
    return selection


def _finish(tracker: SearchTracker, status: str, selection: Selection | None) -> tuple[list[TrialRow], TrialRow | None]:
    """Read the trials back, record the table, the summary, the best policy and the plots; close the parent run.

    The best trial is the confirmation stage's pick when there was one, else the most accurate trial.
    """
    rows = load_trial_rows(tracker.client, tracker.client.get_run(tracker.parent_run_id))
    best = best_row(rows) if selection is None else next(row for row in rows if row.name == selection.pick)
    best_policy = read_policy(tracker.client, tracker.client.get_run(best.run_id)) if best else None
    tracker.finish_search(_summary(rows, best), rows_to_csv(rows), best_policy, status=status)
    log_search_plots(tracker.client, tracker.parent_run_id, rows)
    return rows, best


def _record_optuna_view(
    tracker: SearchTracker, searcher: PolicySearcher, echo: Callable[[str], None], check: bool
) -> None:
    """Store Optuna's view of the trials on the parent run and say where it disagrees with MLflow."""
    view = optuna_view(searcher.study)
    tracker.client.log_text(tracker.parent_run_id, json.dumps(view, indent=1), OPTUNA_ARTIFACT)
    if check:
        for problem in disagreements(view, trial_runs(tracker.client, tracker.client.get_run(tracker.parent_run_id))):
            echo(f"warning: Optuna and MLflow disagree: {problem}")


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
