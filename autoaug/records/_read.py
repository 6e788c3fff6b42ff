"""Reading a search back from MLflow: its parent run, its trial runs as rows, their policies and configuration."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from PIL import Image

from autoaug.errors import ConfigError
from autoaug.policy import Policy
from autoaug.records._policy_uri import POLICY_ARTIFACT, read_run_policy
from autoaug.records._store import filter_value, open_experiment
from autoaug.results import TrialRow, rank_rows
from autoaug.vocabulary import TAG_BASELINE, TAG_HEADLINE, TAG_OUTCOME, TAG_POLICY, TAG_REASON, TAG_ROLE, TAG_SEARCH

CONFIG_ARTIFACT = "config.yaml"
SAMPLES_ARTIFACT = "augmented_samples.png"
ROLE_ATTEMPT = "attempt"
"""Role of a trial's earlier attempt: a run that ended before the trial ran again from its first epoch."""


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


def attempts(client: MlflowClient, run: Run) -> list[Run]:
    """The earlier attempts of a trial, nested under its run, oldest first."""
    query = f"tags.`{MLFLOW_PARENT_RUN_ID}` = {filter_value(run.info.run_id)} and tags.`{TAG_ROLE}` = '{ROLE_ATTEMPT}'"
    return list(client.search_runs([run.info.experiment_id], query, order_by=["attributes.start_time ASC"]))


def read_trial_policy(client: MlflowClient, run: Run) -> Policy:
    """The policy a trial ran with, read back from its ``policy.json`` artifact."""
    return read_run_policy(client, run.info.run_id)


def trial_row(run: Run) -> TrialRow:
    """A trial's run as a row."""
    tags = run.data.tags
    return TrialRow(
        run_id=run.info.run_id,
        name=run.info.run_name,
        outcome=tags.get(TAG_OUTCOME, "running"),
        baseline=tags.get(TAG_BASELINE),
        metrics=dict(run.data.metrics),
        policy=tags.get(TAG_HEADLINE, tags.get(TAG_POLICY, "")),
        reason=tags.get(TAG_REASON, ""),
        start_time=run.info.start_time or 0,
    )


def load_trial_rows(client: MlflowClient, parent: Run) -> list[TrialRow]:
    """The search's trials, best first: completed by validation accuracy, then pruned, then failed."""
    return rank_rows([trial_row(run) for run in trial_runs(client, parent)])


def read_recorded_config(client: MlflowClient, parent: Run) -> dict[str, Any]:
    """The configuration a search was started with, as recorded on its parent run (flat or grouped)."""
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(parent.info.run_id, CONFIG_ARTIFACT, folder)
        recorded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(recorded, dict):
        raise ConfigError(f"search {parent.info.run_name!r}: its recorded {CONFIG_ARTIFACT} is not a mapping")
    return recorded


def samples_grid(client: MlflowClient, row: TrialRow | None) -> Image.Image | None:
    """The sample grid recorded on a trial's run, or None when it has none."""
    if row is None or SAMPLES_ARTIFACT not in {item.path for item in client.list_artifacts(row.run_id)}:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(row.run_id, SAMPLES_ARTIFACT, folder)
        with Image.open(path) as image:
            return image.copy()
