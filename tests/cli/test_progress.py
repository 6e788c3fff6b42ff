"""The search's progress display: its state from the search's events (counts, best, ETA), the rich drawing of it,
and which display each flag and stdout gets. The real search in a real terminal is in test_progress_terminal.py."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from autoaug.cli._parser import build_parser
from autoaug.cli._progress import LiveDisplay, SearchState, search_display, silent
from autoaug.progress import CONFIRMATION, REFERENCE, TRIALS
from autoaug.tuning import print_line


class Clock:
    """Seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _two_of_four_running(state: SearchState, clock: Clock) -> None:
    state.stage_started(TRIALS, 4)
    state.trial_started("baseline-none", 2)
    state.trial_started("trial-000", 2)
    clock.now = 10.0
    state.trial_epoch("baseline-none", 1, 0.50)
    state.trial_epoch("trial-000", 1, 0.40)


def test_counts_follow_the_trials() -> None:
    clock = Clock()
    state = SearchState(clock=clock)
    _two_of_four_running(state, clock)
    assert (state.done, state.running, state.queued) == (0, 2, 2)
    state.trial_epoch("baseline-none", 2, 0.60)
    state.trial_ended("baseline-none", "completed", 0.60, 0.02)
    state.stage_advanced(TRIALS, 1)
    assert (state.done, state.running, state.queued) == (1, 1, 2)
    state.trial_started("trial-001", 2)
    assert (state.done, state.running, state.queued) == (1, 2, 1)


def test_the_best_is_the_most_accurate_completed_trial_with_its_uncertainty() -> None:
    clock = Clock()
    state = SearchState(clock=clock)
    _two_of_four_running(state, clock)
    assert state.best is None
    state.trial_ended("trial-000", "pruned", 0.90, 0.01)  # stopped early: its score is from an earlier epoch
    assert state.best is None
    state.trial_ended("baseline-none", "completed", 0.60, 0.02)
    assert state.best is not None and state.best.describe() == "baseline-none 0.600 ± 0.020"
    state.trial_started("trial-001", 2)
    state.trial_ended("trial-001", "failed", None, None)
    assert state.best.name == "baseline-none"


def test_the_eta_is_the_epochs_left_at_the_rate_so_far() -> None:
    clock = Clock()
    state = SearchState(clock=clock)
    state.stage_started(TRIALS, 4)
    state.trial_started("baseline-none", 2)
    state.trial_started("trial-000", 2)
    assert state.eta() is None  # no epoch ended yet: no rate
    _two_of_four_running(state, clock)  # restarts both trials at 0 s; 2 epochs done at 10 s
    # 5 s per epoch; 1 + 1 epochs left of the running trials, 2 x 2 of the queued ones
    assert state.eta() == pytest.approx(30.0)
    assert state.summary() == "trials 0/4 done, 2 running, 2 queued  |  best -  |  ETA 30s"
    state.stage_finished(TRIALS)
    assert state.eta() is None


def test_a_resumed_search_counts_the_trials_that_ended_before() -> None:
    state = SearchState(clock=Clock())
    state.stage_started(TRIALS, 6, done=4)
    state.trial_started("trial-003", 3)
    assert (state.done, state.running, state.queued) == (4, 1, 1)


def test_the_live_display_draws_stages_running_trials_and_the_summary() -> None:
    clock = Clock()
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=160, color_system=None)
    with LiveDisplay(console, clock=clock) as display:
        display.stage_started(REFERENCE, 3)
        display.stage_advanced(REFERENCE, 3)
        display.stage_finished(REFERENCE)
        display.echo("reference model (no augmentation): fine-tuned in 20s")
        _two_of_four_running(display, clock)
        display.trial_ended("baseline-none", "completed", 0.612, 0.016)
        display.stage_advanced(TRIALS, 1)
        display.stage_started(CONFIRMATION, 4)
    text = output.getvalue()
    assert "reference model (no augmentation): fine-tuned in 20s" in text
    final = text[text.rindex("reference fit"):]  # the last drawing, as it stays on the screen
    assert "3/3" in final and "confirmation" in final and "0/4" in final
    assert "trial-000 epochs" in final and "val_accuracy 0.400" in final
    assert "baseline-none epochs" not in final  # an ended trial's bar is removed
    assert "trials 1/4 done, 1 running, 2 queued  |  best baseline-none 0.612 ± 0.016" in final


def test_the_display_follows_the_flags_and_stdout() -> None:
    with search_display(quiet=True) as (echo, progress):
        assert (echo, progress) == (silent, None)
    with search_display(quiet=False) as (echo, progress):  # pytest's stdout is no terminal
        assert (echo, progress) == (print_line, None)


@pytest.mark.parametrize("command", [["search"], ["evaluate", "policy.json"]])
def test_quiet_and_verbose_flags(command: list[str]) -> None:
    parser = build_parser()
    assert parser.parse_args([*command, "--quiet"]).quiet
    assert parser.parse_args([*command, "-v"]).verbose
    assert parser.parse_args(["-v", *command]).verbose  # the global flag still works
    assert not parser.parse_args(command).verbose
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "-q", "-v"])
