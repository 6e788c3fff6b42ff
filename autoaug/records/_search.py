"""MLflow records of a search: one parent run, one child run per trial. Written by the driver only.

Every write goes through one :class:`SearchTracker` in the driver process, so a sqlite store is never
opened by several processes at once, and remote workers never need to reach the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, Run, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from PIL import Image
from sqlalchemy.exc import SQLAlchemyError

from autoaug.errors import ConfigError
from autoaug.evaluate._repeats import SeedResult
from autoaug.policy import Policy, describe
from autoaug.results._selection import Selection

logger = logging.getLogger("autoaug.tracking")

TAG_SEARCH = "autoaug.search"
TAG_ROLE = "autoaug.role"
TAG_OUTCOME = "autoaug.outcome"
TAG_BASELINE = "autoaug.baseline"
TAG_TRIAL_ID = "autoaug.trial_id"
TAG_REASON = "autoaug.failure_reason"
TAG_HEADLINE = "autoaug.policy_headline"
TAG_NODE = "autoaug.node_id"
TAG_RETRIES = "autoaug.retries"
TAG_REPEAT_OF = "autoaug.repeat_of"
TAG_PICK = "autoaug.pick"
TAG_PICK_RUN = "autoaug.pick_run_id"
TAG_VERDICT = "autoaug.verdict"
TAG_BEST_BASELINE = "autoaug.best_baseline"
CONFIRMATION_ARTIFACT = "confirmation.json"
TAG_CHECKED = "autoaug.store_checked"
POLICY_ARTIFACT = "policy.json"
DATA_REPORT = "data_report.json"
_STATUS = {"completed": RunStatus.FINISHED, "pruned": RunStatus.FINISHED, "failed": RunStatus.FAILED}
_MAX_PARAM_LENGTH = 500


def prepare_store(tracking_uri: str) -> str:
    """Create the folder of a local sqlite store and return the URI with an absolute path.

    An absolute path keeps the store the same whichever directory a later command runs from.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return tracking_uri
    db_path = Path(tracking_uri.removeprefix(prefix)).expanduser().resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return prefix + str(db_path)


def local_store_dir(tracking_uri: str) -> Path | None:
    """The folder of a local sqlite store (``mlruns/``), which also holds what a search keeps beside its
    records (artifacts, Tune's state, the cached reference); None for a tracking server."""
    prefix = "sqlite:///"
    return Path(tracking_uri.removeprefix(prefix)).parent if tracking_uri.startswith(prefix) else None


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>.lock`` beside a local sqlite store (no lock for other stores).

    MLflow creates and migrates a new sqlite store on first use; processes doing that at once corrupt it.
    """
    folder = local_store_dir(tracking_uri)
    if folder is None:
        yield
        return
    lock = folder / (tracking_uri.rsplit("/", 1)[-1] + ".lock")
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def store_client(tracking_uri: str) -> MlflowClient:
    """A client of the store at ``tracking_uri``; a local sqlite store is created or migrated under its lock."""
    uri = prepare_store(tracking_uri)
    if local_store_dir(uri) is None:
        return MlflowClient(uri)
    with store_lock(uri):
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # the first access creates and migrates the store
    return client


# MLflow retries a tracking server 7 times with doubling back-off and waits 120 s per request: minutes
# before a wrong URL fails. The check before anything starts tries twice, 10 s per request.
_CHECK_ENVIRONMENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put back what was there."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_store(tracking_uri: str, experiment: str) -> None:
    """Open the store, get or create ``experiment`` and write a tag to it; a bad store fails in seconds.

    Raises:
        ConfigError: The store cannot be reached, created or written; naming the URI and the cause.
    """
    try:
        with _environment(_CHECK_ENVIRONMENT):
            client = store_client(tracking_uri)
            experiment_id = open_experiment(client, experiment, create=True)
            client.set_experiment_tag(experiment_id, TAG_CHECKED, dt.datetime.now(dt.timezone.utc).isoformat())
    except (MlflowException, OSError, SQLAlchemyError) as exc:
        cause = " ".join(str(exc).split())[:600]
        raise ConfigError(
            f"tracking store {tracking_uri} cannot be used ({type(exc).__name__}: {cause}); check --tracking-uri: "
            "a tracking server must be running and reachable, a sqlite:/// store needs a folder it can create "
            "and write"
        ) from None


def _artifact_root(tracking_uri: str) -> str | None:
    """Artifacts of a local sqlite store live beside it (``mlruns/artifacts``); a server picks its own."""
    folder = local_store_dir(tracking_uri)
    return (folder / "artifacts").as_uri() if folder else None


def open_experiment(client: MlflowClient, name: str, create: bool) -> str:
    """The id of experiment ``name``; created (with its store migrated) only when ``create``."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if not create:
        raise ConfigError(f"no experiment {name!r} in the tracking store {client.tracking_uri}: run `autoaug search` first")
    with store_lock(client.tracking_uri):
        experiment = client.get_experiment_by_name(name)  # another process may have created it meanwhile
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(name, artifact_location=_artifact_root(client.tracking_uri))


def headline(policy: Policy, top: int = 5) -> str:
    """A short summary for tables: a one-sub-policy sequence lists its most probable ops first.

    A stacked policy names its stock transform first (``RandAugment + downscale p0.70``).
    """
    if policy.structure not in ("subpolicies", "stacked") or len(policy.sub_policies) != 1:
        return describe(policy)
    likely = sorted(policy.sub_policies[0], key=lambda step: -step.probability)[:top]
    ops = ", ".join(f"{step.name} p{step.probability:.2f}" for step in likely)
    return f"{policy.transform} + {ops}" if policy.structure == "stacked" else ops


def param_batch(values: dict[str, Any]) -> list[Param]:
    """Values as MLflow params for ``log_batch``, cut to a length every store accepts."""
    return [Param(key, str(value)[:_MAX_PARAM_LENGTH]) for key, value in values.items()]


def metric_batch(values: dict[str, float], step: int) -> list[Metric]:
    """Values as MLflow metrics for ``log_batch`` at ``step``, stamped now (so a later value of a step wins)."""
    timestamp = mlflow.utils.time.get_current_time_millis()
    return [Metric(key, float(value), timestamp, step) for key, value in values.items()]


class SearchTracker:
    """Writes one search to MLflow: the parent run and a child run per trial."""

    def __init__(self, tracking_uri: str, experiment: str, search_name: str) -> None:
        self.client = store_client(tracking_uri)
        self.tracking_uri = self.client.tracking_uri
        self.experiment_id = open_experiment(self.client, experiment, create=True)
        self.search_name = search_name
        self.parent_run_id = ""
        self._child_runs: dict[str, str] = {}

    def start_search(self, config: dict[str, Any], space_yaml: str) -> str:
        """Open the parent run and record the configuration and the search space."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=self.search_name,
            tags={TAG_SEARCH: self.search_name, TAG_ROLE: "search"},
        )
        self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=param_batch(config))
        self.client.log_dict(self.parent_run_id, config, "config.yaml")
        self.client.log_text(self.parent_run_id, space_yaml, "search_space.yaml")
        return self.parent_run_id

    def log_search_metrics(self, metrics: dict[str, float]) -> None:
        """Log summary metrics on the parent run (step 0)."""
        self.client.log_batch(self.parent_run_id, metrics=metric_batch(metrics, step=0))

    def log_search_text(self, text: str, name: str) -> None:
        """Store ``text`` as the parent run's artifact ``name`` (e.g. ``screen.csv``)."""
        self.client.log_text(self.parent_run_id, text, name)

    def log_data_report(self, conversions: Mapping[str, int], skipped: Sequence[str]) -> None:
        """Store what loading the data changed or left out as the parent run's ``data_report.json``.

        Args:
            conversions: Files rescaled or stripped of alpha on the way to 8-bit RGB, by source mode.
            skipped: Unreadable files, each ``"path: reason"``.
        """
        report = {"conversions": dict(conversions), "skipped": list(skipped)}
        self.client.log_dict(self.parent_run_id, report, DATA_REPORT)

    def start_trial(
        self,
        trial_id: str,
        run_name: str,
        policy: Policy,
        params: dict[str, Any],
        samples: Image.Image | None,
        baseline: str | None = None,
    ) -> None:
        """Open a trial's child run with its policy (as params and ``policy.json``) and sample grid."""
        tags = {
            MLFLOW_PARENT_RUN_ID: self.parent_run_id,
            TAG_SEARCH: self.search_name,
            TAG_ROLE: "trial",
            TAG_TRIAL_ID: trial_id,
            "policy": describe(policy)[:5000],
            TAG_HEADLINE: headline(policy),
        }
        if baseline:
            tags[TAG_BASELINE] = baseline
        run_id = self.client.create_run(self.experiment_id, run_name=run_name, tags=tags).info.run_id
        self._child_runs[trial_id] = run_id
        self.client.log_batch(run_id, params=param_batch({"structure": policy.structure, **params}))
        self.client.log_text(run_id, policy.to_json(), POLICY_ARTIFACT)
        if samples is not None:
            self.client.log_image(run_id, samples, "augmented_samples.png")

    def attach(self, parent_run_id: str, child_runs: dict[str, str]) -> None:
        """Continue writing to an existing search: reopen its parent run and adopt its trial runs."""
        self.parent_run_id = parent_run_id
        self._child_runs.update(child_runs)
        self.client.update_run(parent_run_id, status="RUNNING")

    def set_trial_tags(self, trial_id: str, tags: dict[str, str]) -> None:
        """Tag a trial's child run (e.g. the node it ran on)."""
        self.client.log_batch(self._child_runs[trial_id], tags=[RunTag(key, value) for key, value in tags.items()])

    def log_metrics(self, trial_id: str, metrics: dict[str, float], step: int) -> None:
        """Log a trial's metrics for one epoch."""
        self.client.log_batch(self._child_runs[trial_id], metrics=metric_batch(metrics, step))

    def end_trial(self, trial_id: str, outcome: str, reason: str | None = None) -> None:
        """Close a trial's child run as completed, pruned or failed (with the reason)."""
        run_id = self._child_runs[trial_id]
        self.client.set_tag(run_id, TAG_OUTCOME, outcome)
        if reason:
            self.client.set_tag(run_id, TAG_REASON, reason[:5000])
        self.client.set_terminated(run_id, RunStatus.to_string(_STATUS[outcome]))

    def log_repeat(self, trial_run_id: str, trial_name: str, result: SeedResult) -> None:
        """Record one confirmation fine-tune as a finished run nested under the trial it repeats."""
        tags = {
            MLFLOW_PARENT_RUN_ID: trial_run_id,
            TAG_SEARCH: self.search_name,
            TAG_ROLE: "repeat",
            TAG_REPEAT_OF: trial_name,
        }
        run_id = self.client.create_run(
            self.experiment_id, run_name=f"{trial_name}-seed{result.seed}", tags=tags
        ).info.run_id
        metrics = {
            "val_accuracy": result.val_accuracy,
            "test_accuracy": result.test_accuracy,
            "train_loss": result.train_loss,
            "seconds": result.seconds,
        }
        self.client.log_batch(
            run_id, metrics=metric_batch(metrics, step=0), params=param_batch({"seed": result.seed, "stage": "confirmation"})
        )
        self.client.set_terminated(run_id, "FINISHED")

    def log_selection(
        self, selection: Selection, run_ids: dict[str, str], scores: dict[str, dict[int, float]], seconds: float
    ) -> None:
        """Record the confirmation stage's decision on the parent run and its summary on each trial run."""
        for label, run_id in run_ids.items():
            values = scores[label].values()
            summary = {"confirm_val_accuracy_mean": selection.means[label]}
            if len(values) > 1:
                summary["confirm_val_accuracy_std"] = selection.stds[label]
            gap = selection.gaps.get(label)
            if gap is not None:
                summary.update({f"confirm_gap_{key}": value for key, value in gap.to_dict().items()})
            self.client.log_batch(run_id, metrics=metric_batch(_finite(summary), step=0))
        parent = {"confirm_seconds": seconds, "confirm_seeds": len(selection.seeds)}
        if selection.pick_gap is not None:
            parent.update({f"confirm_gap_{key}": value for key, value in selection.pick_gap.to_dict().items()})
        self.log_search_metrics(_finite(parent))
        tags = {
            TAG_PICK: selection.pick,
            TAG_PICK_RUN: run_ids[selection.pick],
            TAG_BEST_BASELINE: selection.best_baseline,
            TAG_VERDICT: selection.verdict()[:5000],
        }
        self.client.log_batch(self.parent_run_id, tags=[RunTag(key, value) for key, value in tags.items()])
        record = {
            "seeds": list(selection.seeds),
            "pick": selection.pick,
            "pick_is_baseline": selection.pick_is_baseline,
            "best_baseline": selection.best_baseline,
            "verdict": selection.verdict(),
            "run_ids": run_ids,
            "val_accuracy": {label: {str(seed): value for seed, value in by_seed.items()} for label, by_seed in scores.items()},
            "mean": selection.means,
            "std": selection.stds,
            "paired_gap": {label: gap.to_dict() for label, gap in selection.gaps.items()},
        }
        self.client.log_text(self.parent_run_id, json.dumps(record, indent=1, allow_nan=True), CONFIRMATION_ARTIFACT)

    def finish_search(
        self,
        summary: dict[str, float],
        trials_csv: str,
        best_policy: Policy | None,
        status: str = "FINISHED",
    ) -> None:
        """Record the trials table, summary metrics and best policy on the parent run, then close it."""
        run_id = self.parent_run_id
        self.log_search_metrics(summary)  # stamped now: a resumed search's later summary wins
        self.client.log_text(run_id, trials_csv, "trials.csv")
        if best_policy is not None:
            self.client.log_text(run_id, best_policy.to_json(), "best_policy.json")
            self.client.set_tag(run_id, "best_policy", describe(best_policy)[:5000])
        self.client.set_terminated(run_id, status)


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {key: float(value) for key, value in values.items() if math.isfinite(value)}


def filter_value(value: str) -> str:
    """``value`` quoted for an MLflow filter string, which knows no escapes: in the quotes it does not hold.

    Raises:
        ConfigError: It holds both quote characters or a backslash, so no filter can name it.
    """
    quote = "'" if "'" not in value else '"'
    if quote in value or "\\" in value:
        raise ConfigError(f"{value!r} cannot be looked up in MLflow: it holds both quote characters or a backslash")
    return f"{quote}{value}{quote}"


def find_search(client: MlflowClient, experiment: str, name: str | None = None) -> Run:
    """The parent run of search ``name``, or of the latest search when no name is given."""
    experiment_id = open_experiment(client, experiment, create=False)
    query = f"tags.`{TAG_ROLE}` = 'search'"
    if name:
        query += f" and tags.`{TAG_SEARCH}` = {filter_value(name)}"
    runs = client.search_runs([experiment_id], query, order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        what = f"search {name!r}" if name else "any search"
        raise ConfigError(f"no record of {what} in experiment {experiment!r} at {client.tracking_uri}")
    return runs[0]


def trial_runs(client: MlflowClient, parent: Run) -> list[Run]:
    """All child runs (trials) of a search's parent run."""
    query = f"tags.`{MLFLOW_PARENT_RUN_ID}` = {filter_value(parent.info.run_id)}"
    return list(client.search_runs([parent.info.experiment_id], query, max_results=10000))


def read_policy(client: MlflowClient, run: Run) -> Policy:
    """The policy a trial ran with, read back from its ``policy.json`` artifact."""
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(run.info.run_id, POLICY_ARTIFACT, folder)
        text = Path(path).read_text(encoding="utf-8")
    return Policy.from_json(text, source=f"run {run.info.run_id}/{POLICY_ARTIFACT}")
