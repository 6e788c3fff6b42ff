"""``autoaug dashboard``: optuna-dashboard on the stored studies of the searches, stopped by SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import optuna
import pytest

from autoaug.cli import main
from local_processes import free_port, port_open, wait_until

AUTOAUG = str(Path(sys.executable).with_name("autoaug"))


def _studies(port: int) -> list[str] | None:
    """The study names the dashboard lists, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as answer:
            return [study["study_name"] for study in json.load(answer)["study_summaries"]]
    except OSError:
        return None


def test_the_dashboard_lists_the_stored_study_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "mlruns").mkdir()
    study = optuna.create_study(study_name="digits-1", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    port = free_port()
    with (tmp_path / "dashboard.log").open("w") as log:
        dashboard = subprocess.Popen(
            [AUTOAUG, "dashboard", "--port", str(port), "--tracking-uri", f"sqlite:///{tmp_path}/mlruns/mlflow.db"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        names = wait_until(lambda: _studies(port) or dashboard.poll() is not None, 120, "autoaug dashboard to answer")
        assert names == ["digits-1"], (tmp_path / "dashboard.log").read_text()
        dashboard.send_signal(signal.SIGTERM)
        assert dashboard.wait(timeout=60) == 0
        wait_until(lambda: not port_open(port), 30, f"port {port} to close")
    finally:
        if dashboard.poll() is None:
            dashboard.kill()
            dashboard.wait()


def test_without_stored_studies_it_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard"]) == 2
    database = tmp_path.resolve() / "mlruns" / "optuna.db"
    assert capsys.readouterr().err == (
        f"autoaug dashboard: error: no Optuna studies at sqlite:///mlruns/optuna.db ({database} does not exist): run "
        "`autoaug search` first, or give the --study-storage or --tracking-uri of your searches\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert main(["dashboard", "--tracking-uri", "http://127.0.0.1:5000"]) == 2
    assert "give the search's --study-storage URL" in capsys.readouterr().err
