"""Resume bookkeeping on a real sqlite MLflow store: recorded settings, refusals, Optuna/MLflow agreement."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from autoaug._process import processes_using
from autoaug.cli import main
from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.modalities.image import baseline_policies
from autoaug.records import SearchTracker, disagreements, find_search, prepare_store, trial_runs
from autoaug.tuning import recorded_config
from autoaug.tuning._resume import restored_trials, tune_storage
from autoaug.vocabulary import TAG_REASON, TAG_ROLE, TAG_TRIAL_ID

AUTOAUG = str(Path(sys.executable).with_name("autoaug"))


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


def _steps(client: MlflowClient, run: Run) -> list[int]:
    return [metric.step for metric in client.get_metric_history(run.info.run_id, "val_accuracy")]


def _between_epochs(uri: str, name: str, epochs: int) -> Run | None:
    """A trial run of search ``name`` that is RUNNING and has logged some but not all of its epochs."""
    client = MlflowClient(uri)
    try:
        runs = trial_runs(client, find_search(client, "autoaug", name))
        return next((run for run in runs if run.info.status == "RUNNING" and 0 < len(_steps(client, run)) < epochs), None)
    except Exception:  # no record yet, or the store is locked by the driver
        return None


def _freeze_between_epochs(driver: subprocess.Popen[bytes], uri: str, name: str, epochs: int, state: Path) -> Run:
    """SIGSTOP the driver (the only writer of the store) once a trial of its is between epochs, and return it.

    Not while it copies Tune's saved state to ``state`` (file by file, not atomically): a half-written file
    would be no state to resume.
    """
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and driver.poll() is None:
        if _between_epochs(uri, name, epochs):
            driver.send_signal(signal.SIGSTOP)
            frozen = _between_epochs(uri, name, epochs)  # read again: it may have written since
            if frozen and driver.pid not in set(processes_using(state)):
                return frozen
            driver.send_signal(signal.SIGCONT)
        time.sleep(0.1)
    pytest.fail(f"the search (exit code {driver.poll()}) was never seen between two epochs of a trial")


@pytest.mark.slow
def test_a_trial_run_again_after_sigkill_and_resume_keeps_one_history_per_run(tmp_path: Path) -> None:
    uri, name, epochs = f"sqlite:///{tmp_path}/mlruns/mlflow.db", "killed", 3
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUNE_GLOBAL_CHECKPOINT_S": "0"}  # Tune saves its state every step
    flags = ["--backbone", "test_resnet", "--weights", "none", "--image-size", "16", "--train-size", "400",
             "--epochs", str(epochs), "--trials", "1", "--baselines", "none", "trivial_augment_wide",
             "--no-early-stopping", "--confirm-seeds", "0", "--name", name, "--tracking-uri", uri]
    with open(tmp_path / "search.log", "wb") as log:
        driver = subprocess.Popen([AUTOAUG, "search", *flags], cwd=tmp_path, env=env, stdout=log, stderr=log)
        frozen = _freeze_between_epochs(driver, uri, name, epochs, tmp_path / "mlruns" / "tune")
        driver.kill()  # SIGKILL: the run stays RUNNING, Tune's saved state has the trial running
        driver.wait(timeout=60)
    resumed = subprocess.run([AUTOAUG, "search", "--resume", name, "--tracking-uri", uri], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    client = MlflowClient(uri)
    runs = trial_runs(client, find_search(client, "autoaug", name))
    histories = {run.info.run_name: _steps(client, run) for run in runs}
    assert histories == {name: list(range(1, epochs + 1)) for name in histories}  # one history each: no step twice
    (rerun,) = [run for run in runs if run.data.tags[TAG_TRIAL_ID] == frozen.data.tags[TAG_TRIAL_ID]]
    attempts = client.search_runs([rerun.info.experiment_id],
                                  f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{rerun.info.run_id}' and tags.`{TAG_ROLE}` = 'attempt'")
    assert [attempt.info.run_id for attempt in attempts] == [frozen.info.run_id]  # the first attempt, kept beneath it
    (attempt,) = attempts
    assert attempt.info.status == "FAILED" and "ran again from its first epoch" in attempt.data.tags[TAG_REASON]
    assert _steps(client, attempt) == _steps(client, frozen)
    # Their descriptions: the fresh run's outcome, the attempt's reason; both keep the search's datasets.
    assert rerun.data.tags["mlflow.note.content"].startswith(f"**{rerun.info.run_name}** of search `{name}`: ")
    assert "Outcome: **completed**: target-validation accuracy" in rerun.data.tags["mlflow.note.content"]
    assert attempt.data.tags["mlflow.note.content"].startswith(f"**{attempt.info.run_name}** of search `{name}`: ")
    assert "Outcome: **failed**: an attempt, ended: " in attempt.data.tags["mlflow.note.content"]
    for run in (rerun, attempt, client.get_run(find_search(client, "autoaug", name).info.run_id)):
        assert sorted(item.dataset.name for item in run.inputs.dataset_inputs) == ["digits-target", "digits-training"]
