"""Starting a search, or resuming a stopped one: its records, the header, the reference model."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna

from autoaug.config import SearchConfig
from autoaug.modalities import Reference
from autoaug.ops import Op
from autoaug.policy import Policy
from autoaug.progress import Progress
from autoaug.records import SearchTracker, resume_search
from autoaug.results import rows_to_csv
from autoaug.tuning._callback import TrialRecord
from autoaug.tuning._prepared import PreparedSearch
from autoaug.tuning._reference_stage import clean_accuracy, prepare_reference, reference_cache_dir
from autoaug.tuning._resume import restored_trials, saved_trial, tune_storage
from autoaug.tuning._shipping import ship_modality, user_ops
from autoaug.tuning._study import open_study_storage, study_storage_url
from autoaug.vocabulary import BASELINE_KEY, POLICY_KEY


@dataclass(frozen=True)
class StartedSearch:
    """A search whose records are open and whose reference is ready; no trial has run yet.

    Attributes:
        tracker: The search's MLflow writer.
        storage: Where Ray Tune keeps the search's state.
        reference: The reference model every trial is measured against.
        user_ops: The user's own ops, shipped to the workers.
        resumed: The trials recorded before a resume (none for a new search).
        study_storage: Where the Optuna study is kept (None: in memory).
    """

    tracker: SearchTracker
    storage: str
    reference: Reference
    user_ops: tuple[Op, ...]
    resumed: list[TrialRecord]
    study_storage: optuna.storages.BaseStorage | None = None


@contextlib.contextmanager
def closed_on_error(tracker: SearchTracker) -> Iterator[None]:
    """Close the parent run as failed when a step before the trials raises (or is interrupted)."""
    try:
        yield
    except BaseException:
        tracker.finish_search({}, rows_to_csv([]), None, status="FAILED")
        raise


def _resumed_trials(
    tracker: SearchTracker, config: SearchConfig, storage: str, echo: Callable[[str], None]
) -> list[TrialRecord]:
    """Reattach to the stopped search's runs, brought in line with Tune's saved trials."""
    trials = restored_trials(str(Path(storage) / config.search_name()))
    saved = {trial_id: saved_trial(trial) for trial_id, trial in trials.items()}
    records = []
    for resumed in resume_search(tracker, config.store.experiment, saved, config.training.epochs, echo):
        trial_config = trials[resumed.trial_id].config
        policy = Policy.from_json(trial_config[POLICY_KEY], source=f"trial {resumed.trial_id}")
        records.append(TrialRecord(
            resumed.trial_id, resumed.run_name, policy, trial_config.get(BASELINE_KEY), outcome=resumed.outcome,
            reason=resumed.reason, epochs=resumed.epochs, metrics=resumed.metrics, node=resumed.node,
            retries=resumed.retries, stopped=resumed.stopped,
        ))
    return records


def _header(prepared: PreparedSearch, config: SearchConfig) -> str:
    task = prepared.task
    return (
        f"search {config.search_name()!r}: {len(prepared.baselines)} baselines + {config.search.trials} searched "
        f"trials, {config.cluster.concurrency} at a time; backbone {config.model.backbone} "
        f"({prepared.backbone.source}); {len(task.train)} training / {len(task.val)} validation / "
        f"{len(task.test)} test images"
    )


def start_or_resume(
    prepared: PreparedSearch, config: SearchConfig, resume: bool, echo: Callable[[str], None], progress: Progress
) -> StartedSearch:
    """Open the search's records (or reattach to a stopped search's), say what it runs, prepare the reference.

    ``config`` is the prepared configuration with its name fixed.
    """
    ship_modality(prepared.modality)  # before any Ray task needs it
    shipped_ops = user_ops(prepared.modality)
    tracker = SearchTracker(config.store.tracking_uri, config.store.experiment, config.search_name())
    storage = tune_storage(config, tracker.tracking_uri)
    study_url = study_storage_url(config.store.study_storage, tracker.tracking_uri)
    study_storage = open_study_storage(study_url, config.search_name(), resume)
    resumed = []
    if resume:
        resumed = _resumed_trials(tracker, config, storage, echo)
    else:
        tracker.start_search(config.model_dump(mode="json"), prepared.space_yaml)
    echo(_header(prepared, config))
    for line in prepared.modality.describe_loading(prepared.task):
        echo(line)
    tracker.log_data_report(prepared.task.conversions, prepared.task.skipped)
    tracker.log_data_inputs(prepared.modality.data_inputs(prepared.task, config.data))
    fit_started = time.time()
    with closed_on_error(tracker):
        reference = prepare_reference(
            prepared.modality, prepared.task, prepared.backbone, config.recipe,
            reference_cache_dir(tracker.tracking_uri), config.resources, echo, progress,
        )
    tracker.log_search_metrics({
        "reference_val_accuracy": clean_accuracy(reference),
        "reference_train_loss": reference.epochs[config.training.epochs - 1].train_loss,
        "reference_seconds": time.time() - fit_started,
    })
    return StartedSearch(tracker, storage, reference, shipped_ops, resumed, study_storage)
