"""How ``autoaug search`` shows its progress: rich bars in a terminal, the search's plain lines elsewhere.

:class:`SearchState` keeps what the display needs (counts, the best trial, an ETA) from the search's
:class:`~autoaug.progress.Progress` events, with no output of its own; :class:`LiveDisplay` draws it with
rich. :func:`search_display` picks the display for the command's flags and its stdout.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars
from rich.table import Column
from rich.text import Text

from autoaug.progress import TRIALS, Progress
from autoaug.tuning import print_line

Clock = Callable[[], float]
_CHATTY = ("mlflow", "optuna", "ray")
"""Libraries that log at INFO or WARNING during a search on loggers of their own."""


@dataclass
class Stage:
    """One stage's count: ``done`` of ``total`` steps (None: unknown), since ``started``."""

    total: int | None
    done: int
    started: float
    finished: bool = False


@dataclass
class TrialState:
    """A trial as the display knows it: its epochs so far and its last score."""

    epochs: int
    started: float
    epoch: int = 0
    score: float | None = None
    outcome: str = "running"
    std: float | None = None


@dataclass(frozen=True)
class Best:
    """The most accurate completed trial so far, with the uncertainty of its score."""

    name: str
    score: float
    std: float | None

    def describe(self) -> str:
        """``trial-003 0.912 ± 0.016`` (no ± without an uncertainty)."""
        spread = f" ± {self.std:.3f}" if self.std is not None else ""
        return f"{self.name} {self.score:.3f}{spread}"


@dataclass
class SearchState(Progress):
    """The search's progress as counts, the best trial so far and an ETA, kept from its events.

    Args:
        clock: Seconds now (``time.monotonic``; a test passes its own).
    """

    clock: Clock = time.monotonic
    stages: dict[str, Stage] = field(default_factory=dict)
    trials: dict[str, TrialState] = field(default_factory=dict)
    epochs_done: int = 0
    """Epochs the trials finished since the trials stage started, for the ETA's rate."""

    def stage_started(self, stage: str, total: int | None = None, done: int = 0) -> None:
        self.stages[stage] = Stage(total, done, self.clock())

    def stage_advanced(self, stage: str, done: int) -> None:
        if stage in self.stages:
            self.stages[stage].done = done

    def stage_finished(self, stage: str) -> None:
        if stage in self.stages:
            self.stages[stage].finished = True

    def trial_started(self, name: str, epochs: int) -> None:
        self.trials[name] = TrialState(epochs, self.clock())

    def trial_epoch(self, name: str, epoch: int, score: float | None) -> None:
        trial = self.trials[name]
        self.epochs_done += max(epoch - trial.epoch, 0)
        trial.epoch, trial.score = epoch, score

    def trial_ended(self, name: str, outcome: str, score: float | None, std: float | None) -> None:
        trial = self.trials.setdefault(name, TrialState(0, self.clock()))
        trial.outcome, trial.score, trial.std = outcome, score, std

    @property
    def done(self) -> int:
        """Trials that have ended, those before a resume included."""
        stage = self.stages.get(TRIALS)
        return stage.done if stage else 0

    @property
    def running(self) -> int:
        """Trials started and not ended."""
        return sum(trial.outcome == "running" for trial in self.trials.values())

    @property
    def queued(self) -> int:
        """Trials of the search not started yet."""
        stage = self.stages.get(TRIALS)
        return max((stage.total or 0) - self.done - self.running, 0) if stage else 0

    @property
    def best(self) -> Best | None:
        """The most accurate completed trial (a pruned or running trial's score is from an earlier epoch)."""
        completed = [(trial.score, name, trial.std) for name, trial in self.trials.items()
                     if trial.outcome == "completed" and trial.score is not None]
        if not completed:
            return None
        score, name, std = max(completed, key=lambda entry: (entry[0], entry[1]))
        return Best(name, score, std)

    def eta(self) -> float | None:
        """Seconds until the last trial ends, at the rate epochs have finished so far (None before the first)."""
        stage = self.stages.get(TRIALS)
        if stage is None or stage.finished or not self.epochs_done:
            return None
        per_trial = max((trial.epochs for trial in self.trials.values()), default=0)
        left = sum(trial.epochs - trial.epoch for trial in self.trials.values() if trial.outcome == "running")
        left += self.queued * per_trial
        return left * (self.clock() - stage.started) / self.epochs_done

    def summary(self) -> str:
        """One line: the trials done, running and queued, the best so far and the ETA."""
        stage = self.stages.get(TRIALS)
        if stage is None:
            return ""
        best, eta = self.best, self.eta()
        parts = [
            f"trials {self.done}/{stage.total} done, {self.running} running, {self.queued} queued",
            f"best {best.describe()}" if best else "best -",
        ]
        if eta is not None:
            parts.append(f"ETA {_duration(eta)}")
        return "  |  ".join(parts)


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``.

    Example:
        >>> _duration(185)
        '3m05s'
    """
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class LiveDisplay(SearchState):
    """Draws a search in a terminal with rich: a bar per stage and per running trial's epochs, then a line of
    counts, the best so far and the ETA. The search's lines print above the bars.

    Use it as a context manager; ``echo`` takes the search's lines.
    """

    def __init__(self, console: Console | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._bars = Bars(
            TextColumn("{task.description}", table_column=Column(width=34, no_wrap=True)),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}", table_column=Column(width=18, no_wrap=True)),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._live = Live(console=console, get_renderable=self._renderable, refresh_per_second=4)
        self._tasks: dict[str, TaskID] = {}
        self._streams: list[tuple[logging.StreamHandler[IO[str]], IO[str]]] = []

    def _renderable(self) -> Group:
        return Group(self._bars, Text(self.summary(), style="bold"))

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        self._streams = _redirect_log_handlers(sys.stderr)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._live.stop()

    def echo(self, line: str) -> None:
        """Print one of the search's lines above the bars."""
        self._live.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _bar(self, key: str, label: str, total: int | None, done: int = 0) -> None:
        if key in self._tasks:
            self._bars.remove_task(self._tasks[key])
        self._tasks[key] = self._bars.add_task(label, total=total, completed=done, note="")

    def stage_started(self, stage: str, total: int | None = None, done: int = 0) -> None:
        super().stage_started(stage, total, done)
        self._bar(stage, stage, total, done)

    def stage_advanced(self, stage: str, done: int) -> None:
        super().stage_advanced(stage, done)
        if stage in self._tasks:
            self._bars.update(self._tasks[stage], completed=done)

    def stage_finished(self, stage: str) -> None:
        super().stage_finished(stage)
        if stage in self._tasks:
            self._bars.stop_task(self._tasks[stage])

    def trial_started(self, name: str, epochs: int) -> None:
        super().trial_started(name, epochs)
        self._bar(name, f"  {name} epochs", epochs)

    def trial_epoch(self, name: str, epoch: int, score: float | None) -> None:
        super().trial_epoch(name, epoch, score)
        note = f"val_accuracy {score:.3f}" if score is not None else ""
        self._bars.update(self._tasks[name], completed=epoch, note=note)

    def trial_ended(self, name: str, outcome: str, score: float | None, std: float | None) -> None:
        super().trial_ended(name, outcome, score, std)
        task = self._tasks.pop(name, None)
        if task is not None:
            self._bars.remove_task(task)


def _redirect_log_handlers(stream: IO[str]) -> list[tuple[logging.StreamHandler[IO[str]], IO[str]]]:
    """Point every logging handler that writes to the terminal at ``stream`` (rich's, which prints above the bars);
    returns each with the stream it had."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {handler for logger in loggers if isinstance(logger, logging.Logger) for handler in logger.handlers}
    terminal = (sys.__stderr__, sys.__stdout__)
    moved = []
    for handler in handlers:
        if type(handler) is logging.StreamHandler and handler.stream in terminal:
            moved.append((handler, handler.stream))
            handler.setStream(stream)
    return moved


def quiet_libraries() -> None:
    """Only errors from the libraries that log on loggers of their own (they set their levels when imported,
    after the command set its own)."""
    for library in _CHATTY:
        logging.getLogger(library).setLevel(logging.ERROR)


def silent(line: str) -> None:
    """A command's progress lines under ``--quiet``: none."""


@contextlib.contextmanager
def search_display(quiet: bool) -> Iterator[tuple[Callable[[str], None], Progress | None]]:
    """The search's ``echo`` and ``progress`` for the command's flags: nothing with ``quiet``, rich bars when stdout
    is a terminal, else the search's plain lines (CI, logs, pipes)."""
    if quiet:
        yield silent, None
    elif sys.stdout.isatty():
        with LiveDisplay() as display:
            yield display.echo, display
    else:
        yield print_line, None
