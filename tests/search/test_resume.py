"""Resume bookkeeping on a real sqlite MLflow store: recorded settings, refusals, Optuna/MLflow agreement."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient

from autoaug.cli import main
from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.modalities.image import baseline_policies
from autoaug.records import SearchTracker, disagreements, find_search, prepare_store, trial_runs
from autoaug.search import recorded_config
from autoaug.search._resume import restored_trials, tune_storage


def _recorded_search(tracking_uri: str, name: str = "paused") -> SearchTracker:
    config = SearchConfig(name=name, trials=7, backbone="test_resnet", tracking_uri=tracking_uri)
    tracker = SearchTracker(tracking_uri, "autoaug", name)
    tracker.start_search(config.model_dump(mode="json"), "version: 1\n")
    return tracker


def test_resume_takes_the_recorded_settings_and_only_location_flags(tracking_uri: str) -> None:
    _recorded_search(tracking_uri)
    config = recorded_config("paused", {"tracking_uri": tracking_uri, "address": "10.0.0.1:6379", "concurrency": 8})
    assert (config.search.trials, config.model.backbone, config.name) == (7, "test_resnet", "paused")
    assert (config.cluster.address, config.cluster.concurrency) == ("10.0.0.1:6379", 8)
    with pytest.raises(ConfigError, match="--trials"):
        recorded_config("paused", {"tracking_uri": tracking_uri, "trials": 9})


def test_resume_of_an_unknown_search_or_with_a_config_file_is_refused(
    tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _recorded_search(tracking_uri)
    assert main(["search", "--resume", "nope", "--tracking-uri", tracking_uri]) == 2
    assert "'nope'" in capsys.readouterr().err
    config = tmp_path / "search.yaml"
    config.write_text("version: 1\n")
    assert main(["search", "--resume", "paused", "--config", str(config), "--tracking-uri", tracking_uri]) == 2
    assert "leave --config out" in capsys.readouterr().err


def test_resume_without_saved_tune_state_names_the_storage_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--storage-path"):
        restored_trials(str(tmp_path / "tune" / "paused"))


def _saved_state(folder: Path) -> Path:
    """A folder that looks like Tune's saved state of a search (its files are never read here)."""
    folder.mkdir(parents=True)
    for name in ("tuner.pkl", "experiment_state-2026-01-01_00-00-00.json", "searcher-state-2026-01-01_00-00-00.pkl"):
        (folder / name).write_text("{}")
        (folder / name).chmod(0o644)
    folder.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda folder: (folder / "searcher-state-2026-01-01_00-00-00.pkl").chmod(0o664), "writable by its group"),
        (lambda folder: (folder / "experiment_state-2026-01-01_00-00-00.json").chmod(0o646), "writable by others"),
        (lambda folder: folder.chmod(0o777), "writable by its group and others"),
        (lambda folder: os.chown(folder / "searcher-state-2026-01-01_00-00-00.pkl", 65534, -1),
         "(uid 65534), not to you"),
    ],
)
def test_resume_refuses_saved_state_that_others_could_have_written(
    tmp_path: Path, change: Callable[[Path], None], expected: str
) -> None:
    folder = _saved_state(tmp_path / "tune" / "paused")
    change(folder)
    with pytest.raises(ConfigError) as info:
        restored_trials(str(folder))
    message = str(info.value)
    assert expected in message and "unpickles" in message and "trust" in message


def test_tune_state_lives_beside_a_local_store_unless_a_storage_path_is_given(tracking_uri: str) -> None:
    uri = prepare_store(tracking_uri)
    assert tune_storage(SearchConfig(), uri) == str(Path(uri.removeprefix("sqlite:///")).parent / "tune")
    assert tune_storage(SearchConfig(storage_path="s3://bucket/tune"), uri) == "s3://bucket/tune"


def test_disagreements_between_optuna_and_mlflow_are_named(tracking_uri: str) -> None:
    tracker = _recorded_search(tracking_uri)
    policy = baseline_policies()["none"]
    for trial_id in ("a", "b", "c", "base"):
        tracker.start_trial(trial_id, f"trial-{trial_id}", policy, {}, None, baseline="none" if trial_id == "base" else None)
    tracker.end_trial("a", "completed")
    tracker.end_trial("b", "failed", "worker died")
    tracker.end_trial("base", "completed")
    client = MlflowClient(tracker.tracking_uri)
    runs = trial_runs(client, find_search(client, "autoaug", "paused"))
    view = [
        {"number": 0, "state": "COMPLETE", "tune_trial_id": "a", "values": [0.5], "fail_reason": None},
        {"number": 1, "state": "FAIL", "tune_trial_id": "b", "values": None, "fail_reason": "worker died"},
    ]
    assert disagreements(view, [r for r in runs if r.data.tags["autoaug.trial_id"] != "c"]) == []
    problems = disagreements([*view, {"number": 2, "state": "RUNNING", "tune_trial_id": "c", "values": None,
                                      "fail_reason": None}], runs)
    assert any("trial-c: MLflow run left RUNNING" in p for p in problems)
    assert any("Optuna trial 2 (Tune c): left RUNNING" in p for p in problems)
    view[0]["state"] = "PRUNED"
    assert any("PRUNED in Optuna but completed in MLflow" in p for p in disagreements(view, runs))
