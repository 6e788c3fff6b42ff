"""MLflow records of a search: one parent run, one child run per trial. Written by the driver only.

Every write goes through one :class:`SearchTracker` in the driver process, so a sqlite store is never
opened by several processes at once, and remote workers never need to reach the store.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas
from mlflow import MlflowClient
from mlflow.entities import Run, RunStatus, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NOTE
from PIL import Image

from autoaug.modalities import DataInput
from autoaug.policy import Policy, PolicyMetadata, describe, headline
from autoaug.records._agreement import OPTUNA_ARTIFACT, disagreements
from autoaug.records._context import dataset_inputs, source_tags
from autoaug.records._metric_buffer import MetricBuffer
from autoaug.records._notes import search_note, trial_note
from autoaug.records._plots import log_drawn_plots, log_search_plots
from autoaug.records._read import (
    CONFIG_ARTIFACT,
    POLICY_ARTIFACT,
    ROLE_ATTEMPT,
    SAMPLES_ARTIFACT,
    attempts,
    load_trial_rows,
    read_trial_policy,
    trial_runs,
)
from autoaug.records._store import finite, metric_batch, open_experiment, param_batch, store_client, store_lock
from autoaug.records._view import runs_page, tag_experiment
from autoaug.results import SeedResult, Selection, TrialRow
from autoaug.vocabulary import (
    AFFINITY,
    DIVERSITY,
    TAG_BASELINE,
    TAG_BEST_BASELINE,
    TAG_HEADLINE,
    TAG_NODE,
    TAG_OUTCOME,
    TAG_PICK,
    TAG_PICK_RUN,
    TAG_POLICY,
    TAG_REASON,
    TAG_REPEAT_OF,
    TAG_ROLE,
    TAG_SEARCH,
    TAG_TRIAL_ID,
    TAG_VERDICT,
    TEST_ACCURACY,
    TRAIN_LOSS,
    VAL_ACCURACY,
)

CONFIRMATION_ARTIFACT = "confirmation.json"
DATA_REPORT = "data_report.json"
TRIALS_ARTIFACT = "trials.csv"
TRIALS_TABLE = "trials_table.json"
"""The trials table as an MLflow table artifact, which the UI shows as a table."""
BEST_POLICY_ARTIFACT = "best_policy.json"
PARAM_DIGITS = 3
"""Significant digits of a trial's numeric params in MLflow."""
_TABLE_FIRST = ("rank", "trial", "outcome", VAL_ACCURACY, TEST_ACCURACY, AFFINITY, DIVERSITY, "policy")
_STATUS = {"completed": RunStatus.FINISHED, "pruned": RunStatus.FINISHED, "failed": RunStatus.FAILED}


def _flat(config: Mapping[str, Any]) -> dict[str, Any]:
    """A grouped configuration as flat settings (groups' keys are unique across groups)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(value if isinstance(value, Mapping) else {key: value})
    return flat


def _rounded(value: Any) -> Any:
    """A float rounded to :data:`PARAM_DIGITS` significant digits; anything else as it is."""
    return float(f"{value:.{PARAM_DIGITS}g}") if isinstance(value, float) else value


class SearchTracker:
    """Writes one search to MLflow: the parent run and a child run per trial.

    Every run carries MLflow's source tags, ``autoaug.version``, the search's datasets as inputs (once
    :meth:`log_data_inputs` named them) and a description; the experiment opens in the UI's model-training view
    with the trials' columns through :attr:`runs_page`.
    """

    def __init__(self, tracking_uri: str, experiment: str, search_name: str) -> None:
        self.client = store_client(tracking_uri)
        self.tracking_uri = self.client.tracking_uri
        self.experiment_id = open_experiment(self.client, experiment, create=True)
        with store_lock(self.tracking_uri):  # searches starting at once would write the same tags at once
            tag_experiment(self.client, self.experiment_id)
        self.search_name = search_name
        self.parent_run_id = ""
        self._child_runs: dict[str, str] = {}
        self._metrics = MetricBuffer(self.client)
        self._source_tags = source_tags()
        self._data: list[DataInput] = []

    @property
    def runs_page(self) -> str:
        """The UI address (after the server's root) of the experiment's trials in the model-training view."""
        return runs_page(self.experiment_id)

    def start_search(self, config: dict[str, Any], space_yaml: str) -> str:
        """Open the parent run and record the configuration (as flat params and ``config.yaml``) and the space."""
        note = f"**Search `{self.search_name}`**: running (its result, verdict and budget are written here at its end)."
        run = self.client.create_run(
            self.experiment_id,
            run_name=self.search_name,
            tags={**self._source_tags, TAG_SEARCH: self.search_name, TAG_ROLE: "search", MLFLOW_RUN_NOTE: note},
        )
        self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=param_batch(_flat(config)))
        self.client.log_dict(self.parent_run_id, config, CONFIG_ARTIFACT)
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

    def log_data_inputs(self, data: Sequence[DataInput]) -> None:
        """Log the search's datasets (training, target) as inputs of the parent run and of every trial run opened
        from now on."""
        self._data = list(data)
        self._log_data(self.parent_run_id)

    def start_trial(
        self,
        trial_id: str,
        run_name: str,
        policy: Policy,
        params: dict[str, Any],
        samples: Image.Image | None,
        baseline: str | None = None,
    ) -> None:
        """Open a trial's child run with its policy (as params and ``policy.json``) and sample grid.

        Params are for reading in the UI: numbers are rounded to :data:`PARAM_DIGITS` significant digits
        (``policy.json`` keeps them exact). ``policy.json`` is named ``<search>/<run name>`` unless the policy
        has a name, and its metadata names the search, the trial and the run.
        """
        tags = {
            **self._source_tags,
            MLFLOW_PARENT_RUN_ID: self.parent_run_id,
            TAG_SEARCH: self.search_name,
            TAG_ROLE: "trial",
            TAG_TRIAL_ID: trial_id,
            TAG_POLICY: describe(policy)[:5000],
            TAG_HEADLINE: headline(policy),
            MLFLOW_RUN_NOTE: trial_note(self.search_name, run_name, headline(policy), describe(policy)),
        }
        if baseline:
            tags[TAG_BASELINE] = baseline
        run_id = self.client.create_run(self.experiment_id, run_name=run_name, tags=tags).info.run_id
        self._child_runs[trial_id] = run_id
        self._log_data(run_id)
        readable = {key: _rounded(value) for key, value in params.items()}
        self.client.log_batch(run_id, params=param_batch({"structure": policy.structure, **readable}))
        recorded = dataclasses.replace(
            policy, name=policy.name or f"{self.search_name}/{run_name}",
            metadata=PolicyMetadata(search=self.search_name, trial=run_name, run_id=run_id),
        )
        self.client.log_text(run_id, recorded.to_json(), POLICY_ARTIFACT)
        if samples is not None:
            self.client.log_image(run_id, samples, SAMPLES_ARTIFACT)

    def _log_data(self, run_id: str) -> None:
        if self._data:
            self.client.log_inputs(run_id, datasets=dataset_inputs(self._data))

    def attach(self, parent_run_id: str, child_runs: dict[str, str]) -> None:
        """Continue writing to an existing search: reopen its parent run and adopt its trial runs."""
        self.parent_run_id = parent_run_id
        self._child_runs.update(child_runs)
        self.client.update_run(parent_run_id, status="RUNNING")

    def set_trial_tags(self, trial_id: str, tags: dict[str, str]) -> None:
        """Tag a trial's child run (e.g. the node it ran on)."""
        self.client.log_batch(self._child_runs[trial_id], tags=[RunTag(key, value) for key, value in tags.items()])

    def log_metrics(self, trial_id: str, metrics: dict[str, float], step: int) -> None:
        """Log a trial's metrics for one epoch (epochs that follow within a second are written together: see
        :class:`MetricBuffer`; the trial's end writes any still waiting)."""
        self._metrics.add(self._child_runs[trial_id], metric_batch(metrics, step))

    def flush_metrics(self) -> None:
        """Write the trials' metrics that have waited long enough (the driver calls it on every step)."""
        self._metrics.flush_due()

    def end_trial(self, trial_id: str, outcome: str, reason: str | None = None) -> None:
        """Close a trial's child run as completed, pruned or failed (with the reason)."""
        run_id = self._child_runs[trial_id]
        self._metrics.flush(run_id)
        self.client.set_tag(run_id, TAG_OUTCOME, outcome)
        if reason:
            self.client.set_tag(run_id, TAG_REASON, reason[:5000])
        run = self.client.get_run(run_id)
        tags = run.data.tags
        note = trial_note(self.search_name, run.info.run_name, tags.get(TAG_HEADLINE, ""), tags.get(TAG_POLICY, ""),
                          outcome, reason or "", run.data.metrics)
        self.client.set_tag(run_id, MLFLOW_RUN_NOTE, note)
        self.client.set_terminated(run_id, RunStatus.to_string(_STATUS[outcome]))

    def restart_trial(self, trial_id: str, reason: str) -> None:
        """Give a trial that starts again from its first epoch a fresh child run, so each run keeps one history.

        The fresh run takes the earlier run's name, params, tags and artifacts (policy, samples) but none of
        its metrics; the earlier run is kept, nested under it as a failed attempt (see :func:`nest_attempt`).
        """
        self._metrics.flush(self._child_runs[trial_id])  # the earlier attempt keeps every epoch it logged
        earlier = self.client.get_run(self._child_runs[trial_id])
        tags = {key: value for key, value in earlier.data.tags.items()
                if not key.startswith("mlflow.") and key not in (TAG_OUTCOME, TAG_REASON, TAG_NODE)}
        note = trial_note(self.search_name, earlier.info.run_name, tags.get(TAG_HEADLINE, ""), tags.get(TAG_POLICY, ""))
        tags.update({**self._source_tags, MLFLOW_PARENT_RUN_ID: self.parent_run_id, MLFLOW_RUN_NOTE: note})
        run_id = self.client.create_run(self.experiment_id, run_name=earlier.info.run_name, tags=tags).info.run_id
        self._log_data(run_id)
        self.client.log_batch(run_id, params=param_batch(dict(earlier.data.params)))
        with tempfile.TemporaryDirectory() as folder:
            self.client.log_artifacts(run_id, self.client.download_artifacts(earlier.info.run_id, "", folder))
        self._child_runs[trial_id] = run_id
        nest_attempt(self.client, earlier, run_id, reason)

    def discard_run(self, run: Run) -> None:
        """Delete a trial run that will not count (MLflow keeps deleted runs restorable)."""
        self.client.delete_run(run.info.run_id)

    def log_optuna_view(self, view: list[dict[str, Any]]) -> None:
        """Store Optuna's view of the trials (see ``autoaug.search``) on the parent run."""
        self.client.log_text(self.parent_run_id, json.dumps(view, indent=1), OPTUNA_ARTIFACT)

    def disagreements(self, view: list[dict[str, Any]]) -> list[str]:
        """Every way Optuna's view of the trials and their MLflow runs disagree (empty when they agree)."""
        return disagreements(view, self.trial_runs())

    def log_plots(self, rows: list[TrialRow]) -> None:
        """Draw the search's plots from ``rows`` onto the parent run (a failure is only a warning)."""
        log_search_plots(self.client, self.parent_run_id, rows)

    def log_drawn_plots(self, draw: Callable[[Path], object]) -> None:
        """Log under ``plots/`` on the parent run what ``draw`` writes into the folder it is given (a failure is only
        a warning)."""
        log_drawn_plots(self.client, self.parent_run_id, draw)

    def trial_runs(self) -> list[Run]:
        """Every trial run of the search."""
        return trial_runs(self.client, self.client.get_run(self.parent_run_id))

    def trial_rows(self) -> list[TrialRow]:
        """The search's trials as rows, best first."""
        return load_trial_rows(self.client, self.client.get_run(self.parent_run_id))

    def trial_policy(self, run_id: str) -> Policy:
        """The policy the trial of run ``run_id`` ran with."""
        return read_trial_policy(self.client, self.client.get_run(run_id))

    def log_repeat(self, trial_run_id: str, trial_name: str, result: SeedResult) -> None:
        """Record one confirmation fine-tune as a finished run nested under the trial it repeats."""
        note = (f"Confirmation repeat of **{trial_name}** (search `{self.search_name}`), seed {result.seed}: "
                f"target-validation accuracy {result.val_accuracy:.3f}, held-out test accuracy {result.test_accuracy:.3f}")
        tags = {
            **self._source_tags,
            MLFLOW_PARENT_RUN_ID: trial_run_id,
            TAG_SEARCH: self.search_name,
            TAG_ROLE: "repeat",
            TAG_REPEAT_OF: trial_name,
            MLFLOW_RUN_NOTE: note,
        }
        run_id = self.client.create_run(
            self.experiment_id, run_name=f"{trial_name}-seed{result.seed}", tags=tags
        ).info.run_id
        self._log_data(run_id)
        metrics = {
            VAL_ACCURACY: result.val_accuracy,
            TEST_ACCURACY: result.test_accuracy,
            TRAIN_LOSS: result.train_loss,
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
            self.client.log_batch(run_id, metrics=metric_batch(finite(summary), step=0))
        parent = {"confirm_seconds": seconds, "confirm_seeds": len(selection.seeds)}
        if selection.pick_gap is not None:
            parent.update({f"confirm_gap_{key}": value for key, value in selection.pick_gap.to_dict().items()})
        self.log_search_metrics(finite(parent))
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
            VAL_ACCURACY: {label: {str(seed): value for seed, value in by_seed.items()} for label, by_seed in scores.items()},
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
        """Record the trials table (``trials.csv`` and the table artifact ``trials_table.json``), summary metrics,
        best policy and description on the parent run, then close it."""
        run_id = self.parent_run_id
        self.log_search_metrics(summary)  # stamped now: a resumed search's later summary wins
        self.client.log_text(run_id, trials_csv, TRIALS_ARTIFACT)
        self._log_trials_table(trials_csv)
        if best_policy is not None:
            self.client.log_text(run_id, best_policy.to_json(), BEST_POLICY_ARTIFACT)
            self.client.set_tag(run_id, "best_policy", describe(best_policy)[:5000])
        parent = self.client.get_run(run_id)
        minutes = (time.time() * 1000 - (parent.info.start_time or 0)) / 60_000
        tags = parent.data.tags
        note = search_note(self.search_name, status, parent.data.params, self.trial_rows(), tags.get(TAG_PICK, ""),
                           tags.get(TAG_VERDICT, ""), minutes)
        self.client.set_tag(run_id, MLFLOW_RUN_NOTE, note)
        self.client.set_terminated(run_id, status)

    def _log_trials_table(self, trials_csv: str) -> None:
        """``trials.csv`` as the table artifact :data:`TRIALS_TABLE`, for reading: the columns that compare trials
        first, numbers rounded to 4 decimals.

        ``log_table`` appends to a table already logged; a resumed search's table replaces the earlier one, written
        in the same form (pandas' ``split`` JSON) with ``log_text``.
        """
        table = pandas.read_csv(io.StringIO(trials_csv)).round(4)
        if table.empty:
            return
        first = [name for name in _TABLE_FIRST if name in table.columns]
        table = table[first + [name for name in table.columns if name not in first]]
        if any(item.path == TRIALS_TABLE for item in self.client.list_artifacts(self.parent_run_id)):
            self.client.log_text(self.parent_run_id, table.to_json(orient="split", index=False), TRIALS_TABLE)
        else:
            self.client.log_table(self.parent_run_id, table, TRIALS_TABLE)


def nest_attempt(client: MlflowClient, earlier: Run, run_id: str, reason: str) -> None:
    """End ``earlier`` as a FAILED attempt (role ``attempt``, with ``reason``) nested under the trial's run ``run_id``.

    The attempts nested under ``earlier`` move with it, so every attempt of a trial lies under its current run.
    """
    older = attempts(client, earlier)
    for attempt in older:
        client.set_tag(attempt.info.run_id, MLFLOW_PARENT_RUN_ID, run_id)
    name = f"{earlier.info.run_name}-attempt{len(older) + 1}"
    known = earlier.data.tags
    note = trial_note(known.get(TAG_SEARCH, ""), name, known.get(TAG_HEADLINE, ""), known.get(TAG_POLICY, ""),
                      "failed", f"an attempt, ended: {reason}")
    tags = {MLFLOW_PARENT_RUN_ID: run_id, TAG_ROLE: ROLE_ATTEMPT, TAG_REASON: reason[:5000], MLFLOW_RUN_NOTE: note}
    client.log_batch(earlier.info.run_id, tags=[RunTag(key, value) for key, value in tags.items()])
    if TAG_OUTCOME in known:
        client.delete_tag(earlier.info.run_id, TAG_OUTCOME)
    client.update_run(earlier.info.run_id, name=name)
    client.set_terminated(earlier.info.run_id, "FAILED")
