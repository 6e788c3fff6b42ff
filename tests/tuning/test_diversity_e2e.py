"""Real small searches that measure every trial, search several objectives and screen candidates first."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from autoaug.config import load_config
from autoaug.measures import MEASURES
from autoaug.records import find_search, trial_runs
from autoaug.tuning import SearchOutcome, prepare_search, run_search

pytestmark = pytest.mark.slow

TINY = {"backbone": "test_resnet", "weights": "none", "train_size": 200, "epochs": 2, "concurrency": 2, "seed": 0}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('diversity')}/mlruns/mlflow.db"


def _search(store: str, name: str, lines: list[str], **settings: object) -> SearchOutcome:
    space = Path(store.removeprefix("sqlite:///")).parent.parent / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale, invert]\n")
    config = load_config(overrides={**TINY, "space": str(space), "tracking_uri": store, "name": name, **settings})
    return run_search(prepare_search(config), echo=lines.append)


@pytest.fixture(scope="module")
def multi(ray_runtime: None, store: str) -> tuple[SearchOutcome, list[str]]:
    lines: list[str] = []
    outcome = _search(store, "multi", lines, objective="multi", screen=4, screen_top=2, trials=3, baselines=("none",))
    return outcome, lines


def test_multi_objective_search_runs_to_the_end_with_optuna_trials_complete(
    multi: tuple[SearchOutcome, list[str]],
) -> None:
    outcome, _ = multi
    study = outcome.study
    assert study is not None
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE] * 3
    assert [trial.state for trial in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert all(len(trial.values) == 3 for trial in study.trials)
    assert [trial.user_attrs.get("screen_rank") for trial in study.trials] == [1, 2, None]
    assert [row.outcome for row in outcome.rows] == ["completed"] * 4  # nothing is stopped early


def test_every_child_run_has_the_measures_and_the_parent_the_screen(
    multi: tuple[SearchOutcome, list[str]], store: str
) -> None:
    client = MlflowClient(store)
    parent = find_search(client, "autoaug", "multi")
    runs = {run.info.run_name: run for run in trial_runs(client, parent)}
    assert len(runs) == 4
    for run in runs.values():
        assert {"val_accuracy", *MEASURES} <= set(run.data.metrics)
        history = client.get_metric_history(run.info.run_id, "affinity")
        assert [metric.step for metric in history] == [1, 2]
    none = runs["baseline-none"].data.metrics
    assert none["affinity"] == none["diversity"] == none["feature_diversity"] == 1.0
    assert [runs[f"trial-00{i}"].data.params.get("screen_rank") for i in range(3)] == ["1", "2", None]
    files = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert "screen.csv" in files
    text = Path(client.download_artifacts(parent.info.run_id, "screen.csv", tempfile.mkdtemp())).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["enqueued"] for row in rows] == ["yes", "yes", "no", "no"]
    assert parent.data.metrics["screen_candidates"] == 4 and parent.data.metrics["reference_val_accuracy"] > 0


def test_a_repeated_search_reuses_the_cached_reference_for_the_none_baseline(
    multi: tuple[SearchOutcome, list[str]], store: str
) -> None:
    first, first_lines = multi
    assert any("fine-tuned in" in line for line in first_lines)
    lines: list[str] = []
    again = _search(store, "again", lines, trials=0, baselines=("none",))
    assert any("reference model (no augmentation): reused" in line for line in lines)
    before = next(row for row in first.rows if row.baseline == "none")
    assert again.rows[0].metrics["val_accuracy"] == before.metrics["val_accuracy"]
    assert again.rows[0].metrics["test_accuracy"] == before.metrics["test_accuracy"]
