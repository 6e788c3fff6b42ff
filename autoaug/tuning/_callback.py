"""Driver-side Tune callback: mirrors every trial into MLflow, prints a line as each trial ends and reports
each trial's epochs to a :class:`~autoaug.progress.Progress`."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PIL import Image
from ray.tune import Callback
from ray.tune.experiment import Trial

from autoaug.modalities import Modality
from autoaug.policy import Policy
from autoaug.progress import TRIALS, Progress
from autoaug.records import SearchTracker
from autoaug.vocabulary import BASELINE_KEY, NODE_KEY, POLICY_KEY, TAG_NODE, TAG_RETRIES, VAL_ACCURACY

logger = logging.getLogger("autoaug.search")

_TUNE_BOOKKEEPING = {
    "time_this_iter_s", "time_total_s", "timestamp", "training_iteration", "iterations_since_restore",
    "time_since_restore", "timesteps_total", "episodes_total", "pid", "done",
}


@dataclass
class TrialRecord:
    """What the driver knows of one trial, for the progress line and the final table."""

    trial_id: str
    run_name: str
    policy: Policy
    baseline: str | None
    started: float = field(default_factory=time.time)
    outcome: str = "running"
    reason: str = ""
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    node: str = ""
    retries: int = 0
    stopped: str = ""
    """Why the trial's current run stopped before it ended, when Tune is to run the trial again."""


def _reported_metrics(result: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in result.items()
        if key not in _TUNE_BOOKKEEPING and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def failure_reason(trial: Trial) -> str:
    """The last line of the trial's error trace (read from the driver-side copy Tune writes first)."""
    local = Path(trial.error_file) if trial.error_file else None
    text = local.read_text(errors="replace") if local and local.is_file() else str(trial.get_error() or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error (see the Ray worker logs)"


def accuracy_std(accuracy: float | None, examples: int) -> float | None:
    """The binomial standard error of an accuracy measured on ``examples`` examples (None without either).

    Example:
        >>> round(accuracy_std(0.9, 100), 3)
        0.03
    """
    if accuracy is None or examples <= 0:
        return None
    return math.sqrt(accuracy * (1 - accuracy) / examples)


class TrackingCallback(Callback):
    """Records each trial as an MLflow child run, prints a line through ``echo`` as each ends and tells
    ``progress`` of each trial's start, epochs and end.

    ``val_examples`` is the size of the target-validation split, for the uncertainty of a trial's score.
    """

    def __init__(
        self,
        tracker: SearchTracker,
        modality: Modality,
        preview_inputs: Any,
        epochs: int,
        total_trials: int,
        echo: Callable[[str], None],
        progress: Progress,
        val_examples: int,
    ) -> None:
        self._tracker = tracker
        self._modality = modality
        self._preview_inputs = preview_inputs
        self._epochs = epochs
        self._total = total_trials
        self._echo = echo
        self._progress = progress
        self._val_examples = val_examples
        self.records: dict[str, TrialRecord] = {}
        self._trials: dict[str, Trial] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its run configuration, callbacks included; a display holds a terminal and is left out.
        return {**self.__dict__, "_echo": print, "_progress": Progress()}

    def begin(self) -> None:
        """Tell ``progress`` the trials start, those that ended before a resume counted as done."""
        self._progress.stage_started(TRIALS, self._total, self._ended())

    def end(self) -> None:
        """Tell ``progress`` the trials have stopped (all ended, or the search interrupted)."""
        self._progress.stage_finished(TRIALS)

    def adopt(self, records: list[TrialRecord]) -> None:
        """Continue a resumed search: trials recorded before it stopped keep their runs and names."""
        self.records.update({record.trial_id: record for record in records})

    @property
    def finished(self) -> bool:
        """Whether every trial of the search has ended (False after an interruption)."""
        return self._ended() >= self._total

    def _ended(self) -> int:
        return sum(record.outcome != "running" for record in self.records.values())

    def failure_reason(self, trial_id: str) -> str:
        """Why a trial failed, for the Optuna study (same text as its MLflow run)."""
        trial = self._trials.get(trial_id)
        return failure_reason(trial) if trial else "unknown error (see the Ray worker logs)"

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._trials[trial.trial_id] = trial
        record = self.records.get(trial.trial_id)
        if record is not None:  # retried, or resumed: it runs again from its first epoch
            reason = f"{record.stopped or 'stopped'}; the trial ran again from its first epoch in a new run"
            self._tracker.restart_trial(trial.trial_id, reason)
            record.epochs, record.metrics, record.node, record.stopped = 0, {}, "", ""
            self._progress.trial_started(record.run_name, self._epochs)
            return
        policy = Policy.from_json(trial.config[POLICY_KEY], source=f"trial {trial.trial_id}")
        baseline = trial.config.get(BASELINE_KEY)
        searched = sum(record.baseline is None for record in self.records.values())
        run_name = f"baseline-{baseline}" if baseline else f"trial-{searched:03d}"
        params = {key: value for key, value in trial.config.items() if key != POLICY_KEY}
        samples = self._render_samples(policy, run_name)
        self._tracker.start_trial(trial.trial_id, run_name, policy, params, samples, baseline)
        self.records[trial.trial_id] = TrialRecord(trial.trial_id, run_name, policy, baseline)
        self._progress.trial_started(run_name, self._epochs)

    def _render_samples(self, policy: Policy, run_name: str) -> Image.Image | None:
        try:
            return self._modality.preview(policy, self._preview_inputs, samples=8, seed=0)
        except Exception as exc:  # a user's op may raise anything; the trial then fails on its worker
            logger.warning("%s: no sample grid, the policy raised %s: %s", run_name, type(exc).__name__, exc)
            return None

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any) -> None:
        record = self.records[trial.trial_id]
        record.epochs = int(result["training_iteration"])
        record.metrics.update(_reported_metrics(result))
        self._tracker.log_metrics(trial.trial_id, _reported_metrics(result), step=record.epochs)
        self._progress.trial_epoch(record.run_name, record.epochs, record.metrics.get(VAL_ACCURACY))
        node = str(result.get(NODE_KEY, ""))
        if node and node != record.node:
            record.node = node
            self._tracker.set_trial_tags(trial.trial_id, {TAG_NODE: node})

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self._tracker.flush_metrics()

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        record = self.records.get(trial.trial_id)
        if record is None:
            return
        record.retries += 1
        record.stopped = f"failed: {failure_reason(trial)}"
        self._tracker.set_trial_tags(trial.trial_id, {TAG_RETRIES: str(record.retries)})
        self._echo(f"      {record.run_name:<32} retrying ({record.stopped[:100]})")

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        record = self.records[trial.trial_id]
        self._finish(record, "completed" if record.epochs >= self._epochs else "pruned")

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        record = self.records.get(trial.trial_id)
        if record is not None:
            self._finish(record, "failed", failure_reason(trial))

    def close_unfinished(self, reason: str) -> None:
        """Record every trial that has not ended as failed (the search itself stopped)."""
        for record in self.records.values():
            if record.outcome == "running":
                self._finish(record, "failed", reason)

    def _finish(self, record: TrialRecord, outcome: str, reason: str = "") -> None:
        record.outcome, record.reason = outcome, reason
        self._tracker.end_trial(record.trial_id, outcome, reason or None)
        done = self._ended()
        score = record.metrics.get(VAL_ACCURACY)
        shown = f"val_accuracy={score:.3f}" if score is not None else reason
        # Only completed trials count: a running or pruned trial's score is from an earlier epoch.
        completed = [r.metrics[VAL_ACCURACY] for r in self.records.values()
                     if r.outcome == "completed" and VAL_ACCURACY in r.metrics]
        best = f"{max(completed):.3f}" if completed else "-"
        seconds = time.time() - record.started
        self._progress.trial_ended(record.run_name, outcome, score, accuracy_std(score, self._val_examples))
        self._progress.stage_advanced(TRIALS, done)
        self._echo(
            f"[{done:>3}/{self._total}] {record.run_name:<32} {outcome:<9} {shown}  "
            f"({seconds:.0f}s, best so far {best})"
        )

