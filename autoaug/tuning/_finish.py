"""The end of a search: the trials' last records, the confirmation stage, the summary and the outcome."""

from __future__ import annotations

from collections.abc import Callable

from autoaug.config import SearchConfig
from autoaug.progress import Progress
from autoaug.records import SearchTracker
from autoaug.results import Selection, TrialRow, best_row, rows_to_csv
from autoaug.tuning._confirm import confirmation_seeds, run_confirmation
from autoaug.tuning._optuna_view import optuna_view
from autoaug.tuning._prepared import PreparedSearch
from autoaug.tuning._start import StartedSearch
from autoaug.tuning._study_plots import write_study_plots
from autoaug.tuning._tuner import TunerRun
from autoaug.vocabulary import TEST_ACCURACY


def end_trials(run: TunerRun, tracker: SearchTracker, status: str, name: str, echo: Callable[[str], None]) -> None:
    """After Tune returned or raised: close the trials still open, store Optuna's view of them and, unless the
    search ``FINISHED``, close the search run as ``status`` (a later ``--resume`` reopens both)."""
    run.callback.close_unfinished(
        f"interrupted: the search stopped before this trial ended (autoaug search --resume {name})"
    )
    view = optuna_view(run.searcher.study)
    tracker.log_optuna_view(view)
    if status == "FINISHED":
        for problem in tracker.disagreements(view):
            echo(f"warning: Optuna and MLflow disagree: {problem}")
        tracker.log_drawn_plots(lambda folder: write_study_plots(run.searcher.study, folder))
    else:
        close_search(tracker, status, None)


def confirm(
    prepared: PreparedSearch,
    config: SearchConfig,
    started: StartedSearch,
    echo: Callable[[str], None],
    progress: Progress,
) -> Selection | None:
    """Run the confirmation stage on the finished trials (None when it is switched off or has no baseline)."""
    settings = config.search
    if not settings.confirm_seeds or settings.objective != "accuracy":
        return None
    selection = run_confirmation(
        started.tracker, started.tracker.trial_rows(), modality=prepared.modality, task=prepared.task,
        backbone=prepared.backbone, recipe=config.recipe, resources=config.resources, user_ops=started.user_ops,
        seeds=confirmation_seeds(config.training.seed, settings.confirm_seeds), top=settings.confirm_top, echo=echo,
        progress=progress,
    )
    if selection is not None:
        echo(f"confirmation: {selection.verdict()}")
    return selection


def close_search(
    tracker: SearchTracker, status: str, selection: Selection | None
) -> tuple[list[TrialRow], TrialRow | None]:
    """Read the trials back, record the table, the summary, the best policy and the plots; close the parent run.

    The best trial is the confirmation stage's pick when there was one, else the most accurate trial.
    """
    rows = tracker.trial_rows()
    best = best_row(rows) if selection is None else next(row for row in rows if row.name == selection.pick)
    best_policy = tracker.trial_policy(best.run_id) if best else None
    tracker.finish_search(_summary(rows, best), rows_to_csv(rows), best_policy, status=status)
    tracker.log_plots(rows)
    return rows, best


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
            if TEST_ACCURACY in row.metrics:
                summary[f"baseline_{row.baseline}_{TEST_ACCURACY}"] = row.metrics[TEST_ACCURACY]
    return summary


def finish(
    prepared: PreparedSearch,
    config: SearchConfig,
    started: StartedSearch,
    status: str,
    echo: Callable[[str], None],
    progress: Progress,
) -> tuple[list[TrialRow], TrialRow | None, Selection | None]:
    """After the trials: a finished search's confirmation stage and final records (an interrupted search was
    closed by :func:`end_trials`). Returns the ranked rows, the best (or confirmed) trial and the selection."""
    tracker = started.tracker
    if status != "FINISHED":
        rows = tracker.trial_rows()
        return rows, best_row(rows), None
    try:
        selection = confirm(prepared, config, started, echo, progress)
    except BaseException as exc:
        close_search(tracker, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED", None)
        raise
    rows, best = close_search(tracker, status, selection)
    return rows, best, selection
