"""What a user sees: ``autoaug search``'s live bars and ``autoaug trials``'s table in a real terminal (tmux), plain
lines in a pipe, only the final report with ``--quiet``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autoaug.modalities.image import baseline_policies
from autoaug.records import SearchTracker
from terminal import TMUX, terminal

AUTOAUG = str(Path(sys.executable).with_name("autoaug"))
TINY = ["--backbone", "test_resnet", "--weights", "none", "--train-size", "100", "--epochs", "2", "--trials", "2",
        "--baselines", "none", "--concurrency", "1", "--confirm-seeds", "0", "--seed", "0"]
TIMEOUT_S = 900
ANSI = re.compile(r"\x1b\[")
SUMMARY = re.compile(r"trials \d/3 done, \d running, \d queued")
OFFLINE = {"HF_HUB_OFFLINE": "1"}
needs_tmux = pytest.mark.skipif(TMUX is None, reason="needs tmux")


def _search(root: Path, name: str, *flags: str) -> list[str]:
    return [AUTOAUG, "search", *TINY, *flags, "--name", name, "--tracking-uri", f"sqlite:///{root}/mlruns/mlflow.db"]


@needs_tmux
@pytest.mark.slow
def test_a_terminal_shows_bars_counts_and_the_final_report(tmp_path: Path) -> None:
    with terminal(_search(tmp_path, "tty"), tmp_path, OFFLINE, TIMEOUT_S) as window:
        final = window.wait_for_exit(TIMEOUT_S)
    assert "EXIT=0" in final, final
    everything = "\n".join(window.screens)
    assert re.search(r"reference fit\s+━+.*2/2", everything), "no finished reference-fit bar"
    assert re.search(r"target matching\s+━+", everything), "no target-matching bar"
    assert re.search(r"(baseline-none|trial-00\d) epochs\s+━+ +\d/2", everything), "no trial epoch bar"
    assert any(SUMMARY.search(screen) and "1 running" in screen for screen in window.screens), "no running count"
    assert "trials 3/3 done, 0 running, 0 queued  |  best " in final
    assert "Trials of 'tty', ranked by target-validation accuracy:" in final
    assert "Finished in" in final


@needs_tmux
def test_trials_in_a_terminal_is_a_table_styled_by_outcome(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    tracker = SearchTracker(uri, "autoaug", "table")
    tracker.start_search({"trials": 3}, "version: 1\n")
    for key, accuracy, outcome in (("a", 0.5, "completed"), ("b", 0.75, "completed"), ("c", None, "failed")):
        tracker.start_trial(key, f"trial-{key}", baseline_policies()["none"], {}, None)
        if accuracy is not None:
            tracker.log_metrics(key, {"val_accuracy": accuracy}, step=1)
        tracker.end_trial(key, outcome, "RuntimeError: boom" if outcome == "failed" else None)
    with terminal([AUTOAUG, "trials", "--tracking-uri", uri], tmp_path, OFFLINE, 120) as window:
        screen = window.wait_for_exit(120)
    assert "EXIT=0" in screen, screen
    lines = [line.strip() for line in screen.splitlines() if line.strip()]
    assert lines[0] == "search 'table' (running), 3 trials", screen
    assert lines[1].split() == ["#", "trial", "outcome", "val_accuracy", "val_macro_f1", "test_accuracy", "policy"], screen
    assert set(lines[2]) == {"─"}  # rich's rule under the header: not the plain table's dashes
    assert [line.split()[:4] for line in lines[3:6]] == [
        ["1", "trial-b", "completed", "0.750"], ["2", "trial-a", "completed", "0.500"], ["3", "trial-c", "failed", "-"]]
    assert lines[5].endswith("RuntimeError: boom")


@pytest.mark.slow
def test_a_pipe_gets_plain_lines_and_quiet_only_the_report(tmp_path: Path) -> None:
    env = {**os.environ, **OFFLINE}
    plain = subprocess.run(_search(tmp_path, "piped", "--no-target-match"), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    assert plain.returncode == 0, plain.stderr
    assert not ANSI.search(plain.stdout) and not ANSI.search(plain.stderr)
    lines = plain.stdout.splitlines()
    assert lines[0].startswith("search 'piped': 1 baselines + 2 searched trials")
    assert any(line.startswith("reference model (no augmentation): fine-tuned in") for line in lines)
    assert [line[:38] for line in lines if line.startswith("[")] == [
        "[  1/3] baseline-none                 ", "[  2/3] trial-000                     ",
        "[  3/3] trial-001                     ",
    ]
    assert not SUMMARY.search(plain.stdout)  # no display in a pipe
    # The reference is cached by now: the quiet search runs the same steps and prints only the report.
    quiet = subprocess.run(_search(tmp_path, "quiet", "--no-target-match", "--quiet"), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("\nTrials of 'quiet', ranked by target-validation accuracy:\n")
    assert "\nFinished in" in quiet.stdout
    progress = ("[", "search 'quiet'", "reference model", "confirmation")
    assert [line for line in quiet.stdout.splitlines() if line.startswith(progress)] == []
