"""The search driver: start (or resume), run the trials on Ray Tune with Optuna and ASHA, finish."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from autoaug.progress import Progress
from autoaug.results import Selection, TrialRow
from autoaug.tuning._finish import end_trials, finish
from autoaug.tuning._prepared import PreparedSearch
from autoaug.tuning._ray_connect import connect_ray
from autoaug.tuning._start import start_or_resume
from autoaug.tuning._tuner import build_tuner


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


def print_line(line: str) -> None:
    """Default progress output (a module-level function, so Tune can pickle the callback holding it)."""
    print(line, flush=True)


def run_search(
    prepared: PreparedSearch,
    echo: Callable[[str], None] = print_line,
    resume: bool = False,
    progress: Progress | None = None,
) -> SearchOutcome:
    """Run a prepared search to the end and return its ranked trials.

    With ``resume``, continue the stopped search of the same name from Tune's saved state (trials,
    Optuna study) and its MLflow runs, instead of starting a new one. ``echo`` receives the search's
    lines (the header, each trial's end, the stages' results); ``progress``, when given, its stages'
    and trials' steps as they happen (``autoaug search`` draws them as bars in a terminal).

    Example:
        >>> outcome = run_search(prepare_search(load_config()))  # doctest: +SKIP
    """
    started_at = time.time()
    config = prepared.config.with_name(prepared.config.search_name())
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter honours verbose=0
    connect_ray(config.cluster.address)  # before any record is written: a wrong address or token changes nothing
    progress = progress or Progress()
    started = start_or_resume(prepared, config, resume, echo, progress)
    run = build_tuner(prepared, config, started, resume, echo, progress)
    status = "FAILED"
    try:
        status = run.fit(resume)
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        end_trials(run, started.tracker, status, config.search_name(), echo)
    rows, best, selection = finish(prepared, config, started, status, echo, progress)
    return SearchOutcome(
        name=config.search_name(),
        tracking_uri=started.tracker.tracking_uri,
        experiment=config.store.experiment,
        parent_run_id=started.tracker.parent_run_id,
        rows=rows,
        best=best,
        skipped_files=prepared.task.skipped,
        seconds=time.time() - started_at,
        study=run.searcher.study,
        finished=status == "FINISHED",
        selection=selection,
    )
