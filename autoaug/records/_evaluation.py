"""MLflow record of an evaluation: one run (tag ``autoaug.role`` = ``evaluation``) in the searches' experiment.

Written from the one process that runs the evaluation, so a sqlite store is never opened concurrently.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

from autoaug import _process
from autoaug.modalities import DataInput
from autoaug.policy import Policy, describe
from autoaug.records._context import dataset_inputs, source_tags
from autoaug.records._read import read_trial_policy
from autoaug.records._store import filter_value, metric_batch, open_experiment, param_batch, store_client
from autoaug.results import Comparison, PolicyStats, SeedResult
from autoaug.vocabulary import (
    TAG_POLICY,
    TAG_PROCESS,
    TAG_REASON,
    TAG_ROLE,
    TAG_SEARCH,
    TAG_SOURCE_RUN,
    TAG_SOURCE_SEARCH,
    TEST_ACCURACY,
    VAL_ACCURACY,
)

EVALUATION_JSON = "evaluation.json"
EVALUATION_PLOT = "evaluation.png"
EVALUATION_TABLE = "evaluation.txt"


def metric_key(*parts: str) -> str:
    """An MLflow metric name from labels that may hold characters MLflow rejects."""
    return "/".join(re.sub(r"[^A-Za-z0-9_.\- ]", "_", part) for part in parts)


def _what_it_does(policy: Policy) -> dict[str, Any]:
    """The policy file's content without its name and metadata, which never change what it does."""
    return {key: value for key, value in policy.to_dict().items() if key not in ("name", "metadata")}


@dataclass(frozen=True)
class PolicySource:
    """The trial of a search that ran a policy."""

    run_id: str
    trial: str
    search: str

    def line(self, label: str) -> str:
        """Where the policy labelled ``label`` comes from, in words."""
        return f"{label} is trial {self.trial} ({self.run_id}) of search {self.search!r}"


def find_policy_source(client: MlflowClient, experiment_id: str, policy: Policy) -> PolicySource | None:
    """The latest trial run of any search in the experiment that ran exactly ``policy`` (name and metadata aside)."""
    summary, wanted = describe(policy)[:5000], _what_it_does(policy)
    runs = client.search_runs(
        [experiment_id], f"tags.`{TAG_ROLE}` = {filter_value('trial')}", order_by=["attributes.start_time DESC"], max_results=5000
    )
    for run in runs:
        if run.data.tags.get(TAG_POLICY) == summary and _what_it_does(read_trial_policy(client, run)) == wanted:
            return PolicySource(run.info.run_id, run.info.run_name, run.data.tags.get(TAG_SEARCH, ""))
    return None


class EvaluationTracker:
    """Writes one evaluation run: opened before the first fine-tune, a metric per fine-tune, closed with the report.

    Example:
        >>> tracker = EvaluationTracker("sqlite:///mlruns/mlflow.db", "autoaug", "evaluate-best")  # doctest: +SKIP
    """

    def __init__(self, tracking_uri: str, experiment: str, run_name: str) -> None:
        self.client = store_client(tracking_uri)
        self.tracking_uri = self.client.tracking_uri
        self.experiment_id = open_experiment(self.client, experiment, create=True)
        self.run_name = run_name
        self.run_id = ""
        self._links: list[str] = []

    def find_sources(self, policies: dict[str, Policy]) -> dict[str, PolicySource]:
        """The trial each policy comes from, by label, for the policies a search of the experiment ran."""
        found = {label: find_policy_source(self.client, self.experiment_id, p) for label, p in policies.items()}
        return {label: source for label, source in found.items() if source is not None}

    def close_abandoned(self) -> list[str]:
        """End as KILLED, with the reason, the evaluation runs left RUNNING by a process that has ended.

        Ctrl-C and SIGTERM close the run; SIGKILL, a crash of the machine or the OOM killer cannot. Runs
        written on another host, whose process cannot be checked from here, are left as they are.

        Returns:
            A line per run it closed: its name, id and the reason.
        """
        query = f"tags.`{TAG_ROLE}` = {filter_value('evaluation')} and attributes.status = 'RUNNING'"
        closed = []
        for run in self.client.search_runs([self.experiment_id], query, max_results=1000):
            identity = run.data.tags.get(TAG_PROCESS, "")
            if not _process.is_gone(identity):
                continue
            reason = (f"autoaug evaluate ended without closing this run ({_process.describe(identity)} is gone: "
                      "killed, or its machine stopped); the fine-tunes logged before it ended are kept")
            self.client.set_tag(run.info.run_id, TAG_REASON, reason)
            self.client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
            closed.append(f"closed evaluation run {run.info.run_name} ({run.info.run_id}) as KILLED: {reason}")
        return closed

    def start(
        self, params: dict[str, Any], policies: dict[str, Policy], sources: dict[str, PolicySource],
        data: Sequence[DataInput],
    ) -> str:
        """Open the run with its settings, the policies (``policies/<label>.json``), links to their source trials,
        the data as run inputs, and MLflow's source and ``autoaug.version`` tags."""
        tags = {**source_tags(), TAG_ROLE: "evaluation", TAG_PROCESS: _process.this_process()}
        if sources:
            tags[TAG_SOURCE_RUN] = ",".join(source.run_id for source in sources.values())
            tags[TAG_SOURCE_SEARCH] = ",".join(source.search for source in sources.values())
        self._links = [source.line(label) for label, source in sources.items()]
        self.run_id = self.client.create_run(self.experiment_id, run_name=self.run_name, tags=tags).info.run_id
        self.client.log_batch(self.run_id, params=param_batch(params))
        self.client.log_inputs(self.run_id, datasets=dataset_inputs(data))
        for label, policy in policies.items():
            self.client.log_text(self.run_id, policy.to_json(), f"policies/{label}.json")
        return self.run_id

    def log_result(self, result: SeedResult) -> None:
        """One fine-tune's scores, under the policy's label, with the seed as the step."""
        values = {TEST_ACCURACY: result.test_accuracy, VAL_ACCURACY: result.val_accuracy, "seconds": result.seconds}
        keyed = {metric_key(name, result.policy): value for name, value in values.items()}
        self.client.log_batch(self.run_id, metrics=metric_batch(keyed, step=result.seed))

    def finish(
        self, stats: Sequence[PolicyStats], compared: Sequence[Comparison], table: str, record_json: str, plot: Path
    ) -> None:
        """Record means, stds and gaps, the table (also as the run's description), the JSON and the plot; close."""
        metrics = {}
        for s in stats:
            metrics[metric_key("test_accuracy_mean", s.policy)] = s.mean
            metrics[metric_key("test_accuracy_std", s.policy)] = s.std
        for c in compared:
            metrics[metric_key("gap", f"{c.policy}_vs_{c.baseline}")] = c.gap
        finite = {key: value for key, value in metrics.items() if not math.isnan(value)}
        self.client.log_batch(self.run_id, metrics=metric_batch(finite, step=0))
        self.client.set_tag(self.run_id, MLFLOW_RUN_NOTE, "\n\n".join([f"```\n{table}\n```", *self._links]))
        self.client.log_text(self.run_id, table, EVALUATION_TABLE)
        self.client.log_text(self.run_id, record_json, EVALUATION_JSON)
        with tempfile.TemporaryDirectory() as folder:
            # Stored under a fixed name, whatever the local file is called.
            self.client.log_artifact(self.run_id, shutil.copyfile(plot, Path(folder) / EVALUATION_PLOT))
        self.client.set_terminated(self.run_id, "FINISHED")

    def stop(self, status: str, reason: str) -> None:
        """Close an unfinished run as ``FAILED`` or ``KILLED``, saying why."""
        if self.run_id:
            self.client.set_tag(self.run_id, TAG_REASON, reason[:5000])
            self.client.set_terminated(self.run_id, RunStatus.to_string(RunStatus.from_string(status)))
