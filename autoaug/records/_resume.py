"""A stopped search's MLflow runs brought in line with Ray Tune's saved state, so that it can go on.

Ray Tune saves the experiment state (every trial's status plus the searcher, Optuna study included)
periodically and when the driver stops cleanly. MLflow is written as trials start and end, so after
a hard stop it can be ahead of that saved state. Resuming makes MLflow follow Tune's state:

- a trial Tune will run again (it was running or pending) gets a fresh child run when it starts,
  with the earlier one nested under it as a failed attempt (so no run holds an epoch twice);
- a finished trial keeps its run and outcome (an outcome the driver never wrote is taken from Tune);
- a run whose trial started after the last save is unknown to Tune and to the saved study: it is
  deleted (MLflow keeps deleted runs restorable) and the searcher proposes that slot again.

So each trial ends as one child run with one outcome, and none is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlflow.entities import Run, RunStatus

from autoaug.errors import ConfigError
from autoaug.records._read import find_search, trial_runs
from autoaug.records._search import SearchTracker
from autoaug.vocabulary import TAG_NODE, TAG_OUTCOME, TAG_REASON, TAG_RETRIES, TAG_TRIAL_ID


@dataclass(frozen=True)
class SavedTrial:
    """A trial as Ray Tune's last saved state of the search holds it.

    Attributes:
        trial_id: Tune's trial id.
        unfinished: Tune runs it again from its first epoch (it was pending, running or paused).
        failed: It ended with an error.
        epochs: The epochs it had reported.
        reason: Why it failed.
    """

    trial_id: str
    unfinished: bool
    failed: bool = False
    epochs: int = 0
    reason: str = ""


@dataclass
class ResumedTrial:
    """A trial's run as the resumed search goes on with it."""

    trial_id: str
    run_name: str
    node: str
    retries: int
    outcome: str = "running"
    reason: str = ""
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    stopped: str = ""
    """Why the trial's run stopped before it ended, when Tune is to run the trial again."""


def resume_search(
    tracker: SearchTracker, experiment: str, saved: dict[str, SavedTrial], epochs: int, echo: Callable[[str], None]
) -> list[ResumedTrial]:
    """Reattach ``tracker`` to the search's runs, brought in line with Tune's ``saved`` trials.

    Raises:
        ConfigError: The search already finished.
    """
    client = tracker.client
    parent = find_search(client, experiment, tracker.search_name)
    if parent.info.status == RunStatus.to_string(RunStatus.FINISHED):
        raise ConfigError(f"search {tracker.search_name!r} already finished; there is nothing to resume")
    kept: dict[str, Run] = {}
    for run in trial_runs(client, parent):
        trial = saved.get(run.data.tags.get(TAG_TRIAL_ID, ""))
        if trial is None:
            tracker.discard_run(run)
            echo(f"      {run.info.run_name:<32} discarded: started after the last saved state, proposed again")
        else:
            kept[trial.trial_id] = run
    tracker.attach(parent.info.run_id, {trial_id: run.info.run_id for trial_id, run in kept.items()})
    return [_resume_trial(tracker, run, saved[trial_id], epochs) for trial_id, run in kept.items()]


def _resume_trial(tracker: SearchTracker, run: Run, trial: SavedTrial, epochs: int) -> ResumedTrial:
    tags = run.data.tags
    resumed = ResumedTrial(
        trial.trial_id, run.info.run_name, node=tags.get(TAG_NODE, ""), retries=int(tags.get(TAG_RETRIES, "0"))
    )
    if trial.unfinished:  # Tune runs it again from its first epoch, in a fresh run
        resumed.stopped = "the search stopped before this trial ended"
        return resumed
    resumed.metrics = dict(run.data.metrics)
    resumed.epochs = trial.epochs
    if TAG_OUTCOME in tags and run.info.status != "RUNNING":
        resumed.outcome, resumed.reason = tags[TAG_OUTCOME], tags.get(TAG_REASON, "")
        return resumed
    # Tune saved the trial's end but the driver stopped before recording it.
    if trial.failed:
        resumed.outcome, resumed.reason = "failed", trial.reason
    else:
        resumed.outcome = "completed" if trial.epochs >= epochs else "pruned"
    tracker.end_trial(trial.trial_id, resumed.outcome, resumed.reason or None)
    return resumed
