from __future__ import annotations

import dataclasses
import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pandas
import pytest
from mlflow import MlflowClient
from PIL import Image

from autoaug.config import DataConfig
from autoaug.errors import ConfigError
from autoaug.modalities import get_modality
from autoaug.modalities.image import baseline_policies
from autoaug.policy import OpSpec, Policy, PolicyMetadata, headline
from autoaug.records import (
    DATA_REPORT,
    TRIALS_TABLE,
    VIEW_KEY,
    SearchTracker,
    database_file,
    filter_value,
    find_policy_source,
    find_search,
    prepare_store,
    read_trial_policy,
    trial_runs,
    trials_page,
)
from autoaug.results import rows_to_csv


def test_headline_lists_the_most_probable_ops_of_a_sequence() -> None:
    policy = Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.1, 0.5), OpSpec("downscale", 0.9, 0.5)),))
    assert headline(policy) == "downscale p0.90, rotate p0.10"


def test_headline_of_other_structures_is_the_full_description() -> None:
    assert "TrivialAugmentWide" in headline(baseline_policies()["trivial_augment_wide"])


def test_reading_a_store_without_searches_says_what_to_do(tracking_uri: str) -> None:
    with pytest.raises(ConfigError, match="autoaug search"):
        find_search(MlflowClient(prepare_store(tracking_uri)), "autoaug")


def test_latest_search_is_found_by_default_and_others_by_name(tracking_uri: str) -> None:
    for name in ("first", "second"):
        tracker = SearchTracker(tracking_uri, "autoaug", name)
        tracker.start_search({"trials": 1}, "version: 1\n")
        tracker.finish_search({}, "rank\n", None)
    client = MlflowClient(prepare_store(tracking_uri))
    assert find_search(client, "autoaug").info.run_name == "second"
    assert find_search(client, "autoaug", "first").info.run_name == "first"
    with pytest.raises(ConfigError, match="'third'"):
        find_search(client, "autoaug", "third")


def test_names_with_quotes_are_found(tracking_uri: str) -> None:
    for name in ("o'brien", 'say "cheese"'):
        tracker = SearchTracker(tracking_uri, "autoaug", name)
        tracker.start_search({"trials": 1}, "version: 1\n")
        tracker.start_trial("t0", "trial-000", baseline_policies()["none"], {}, None)
        tracker.finish_search({}, "rank\n", None)
        parent = find_search(tracker.client, "autoaug", name)
        assert parent.info.run_id == tracker.parent_run_id
        assert [run.info.run_name for run in trial_runs(tracker.client, parent)] == ["trial-000"]


def test_a_value_with_both_quotes_cannot_be_searched_for() -> None:
    assert filter_value("o'brien") == '"o\'brien"' and filter_value("plain") == "'plain'"
    with pytest.raises(ConfigError, match="both quote characters"):
        filter_value('it\'s "x"')


def test_data_report_lists_conversions_and_skipped_files(tracking_uri: str, tmp_path: Path) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "report")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.log_data_report({"I;16": 3, "RGBA": 1}, ("data/a/broken.png: cannot identify image file",))
    path = tracker.client.download_artifacts(tracker.parent_run_id, DATA_REPORT, str(tmp_path))
    assert json.loads(Path(path).read_text()) == {
        "conversions": {"I;16": 3, "RGBA": 1},
        "skipped": ["data/a/broken.png: cannot identify image file"],
    }


def _open_search_store(uri: str, barrier: Any, index: int, results: Any) -> None:
    """In a fresh process: wait for the others, then open the store as a search's driver does."""
    barrier.wait()
    try:
        SearchTracker(uri, "autoaug", f"racer-{index}")
        results.put((index, "ok"))
    except BaseException as error:  # reported to the test, which names it
        results.put((index, f"{type(error).__name__}: {error}"))


def test_first_searches_on_a_new_sqlite_store_do_not_race(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_open_search_store, args=(uri, barrier, i, results)) for i in range(4)]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert outcomes == {i: "ok" for i in range(4)}
    experiments = MlflowClient(uri).search_experiments(filter_string="name = 'autoaug'")
    assert len(experiments) == 1
    assert (tmp_path / "mlruns" / "mlflow.db.lock").is_file()


SEARCHED = Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.16393245237809825, 0.08712929970154071),),))


def test_trial_params_are_rounded_and_the_policy_file_names_the_search(tracking_uri: str) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "digits-1")
    tracker.start_search({"trials": 1}, "version: 1\n")
    params = {"extra0.p": 0.16393245237809825, "extra0.m": 0.08712929970154071, "lr": 0.000123456, "extra_ops": 1}
    tracker.start_trial("t0", "trial-000", SEARCHED, {**params, "extra0": "rotate"}, None)
    tracker.start_trial("t1", "baseline-none", baseline_policies()["none"], {}, None, baseline="none")
    (trial, baseline) = sorted(trial_runs(tracker.client, find_search(tracker.client, "autoaug")),
                               key=lambda run: run.info.run_name, reverse=True)
    assert trial.data.params == {"structure": "subpolicies", "extra0": "rotate", "extra0.p": "0.164",
                                 "extra0.m": "0.0871", "lr": "0.000123", "extra_ops": "1"}
    recorded = read_trial_policy(tracker.client, trial)
    assert recorded.name == "digits-1/trial-000"
    assert recorded.metadata == PolicyMetadata(search="digits-1", trial="trial-000", run_id=trial.info.run_id)
    assert recorded.sub_policies == SEARCHED.sub_policies  # exact, not rounded
    assert read_trial_policy(tracker.client, baseline).name == "none"
    assert read_trial_policy(tracker.client, baseline).metadata.search == "digits-1"


def test_an_exported_policy_is_traced_to_its_trial_whatever_its_name_and_metadata(tracking_uri: str) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "digits-1")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.start_trial("t0", "trial-000", SEARCHED, {}, None)
    exported = dataclasses.replace(SEARCHED, name="best_policy", metadata=PolicyMetadata(pick="knee", val_accuracy=0.5))
    source = find_policy_source(tracker.client, tracker.experiment_id, exported)
    assert source is not None and (source.search, source.trial) == ("digits-1", "trial-000")


def _image_folders(root: Path, shade: int = 0) -> DataConfig:
    for split, count in (("train", 12), ("val", 8)):
        for label in ("a", "b"):
            (root / split / label).mkdir(parents=True, exist_ok=True)
            for index in range(count // 2):
                pixels = np.random.default_rng(index).integers(0, 255, (12, 12, 3), dtype=np.uint8)
                pixels[0, 0] = shade
                Image.fromarray(pixels).save(root / split / label / f"{index}.png")
    return DataConfig(task="folders", train_dir=root / "train", val_dir=root / "val", image_size=12, train_size=12)


def test_the_users_folders_are_logged_as_local_datasets_on_the_search_and_its_trials(
    tracking_uri: str, tmp_path: Path
) -> None:
    image = get_modality("image")
    data = _image_folders(tmp_path / "data")
    data_inputs = image.data_inputs(image.load_task(data, seed=0), data)
    tracker = SearchTracker(tracking_uri, "autoaug", "folders")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.log_data_inputs(data_inputs)
    tracker.start_trial("t0", "trial-000", SEARCHED, {}, None)
    for run in (tracker.client.get_run(tracker.parent_run_id), *tracker.trial_runs()):
        logged = {item.tags[0].value: item.dataset for item in run.inputs.dataset_inputs}
        assert set(logged) == {"training", "target"}
        assert logged["training"].source_type == "local"
        assert json.loads(logged["training"].source) == {"uri": str((tmp_path / "data" / "train").resolve())}
        assert json.loads(logged["target"].source) == {"uri": str((tmp_path / "data" / "val").resolve())}
        assert json.loads(logged["training"].profile) == {"rows": 12, "classes": 2}
        assert logged["training"].digest == data_inputs[0].digest and len(data_inputs[0].digest) == 12
    changed = _image_folders(tmp_path / "other", shade=255)  # one pixel per image differs: so do the digests
    again = image.data_inputs(image.load_task(changed, seed=0), changed)
    assert [item.digest for item in again] != [item.digest for item in data_inputs]
    assert image.data_inputs(image.load_task(data, seed=0), data) == data_inputs  # the same data, the same digests


def test_each_run_is_described_and_a_resumed_search_replaces_its_trials_table(tracking_uri: str, tmp_path: Path) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "described")
    tracker.start_search({"data": {"task": "digits", "train_size": 100}, "training": {"epochs": 1},
                          "model": {"backbone": "test_resnet"}, "search": {"trials": 1}}, "version: 1\n")
    assert "running" in tracker.client.get_run(tracker.parent_run_id).data.tags["mlflow.note.content"]
    tracker.start_trial("t0", "trial-000", SEARCHED, {}, None)
    tracker.start_trial("t1", "baseline-none", baseline_policies()["none"], {}, None, baseline="none")
    tracker.log_metrics("t1", {"val_accuracy": 0.5, "affinity": 1.0}, step=1)
    tracker.end_trial("t0", "failed", "RuntimeError: boom")
    tracker.end_trial("t1", "completed")
    notes = {run.info.run_name: run.data.tags["mlflow.note.content"] for run in tracker.trial_runs()}
    assert notes["trial-000"] == ("**trial-000** of search `described`: rotate p0.16\n\nOutcome: **failed**: "
                                  "RuntimeError: boom\n\nPolicy: `subpolicies: [rotate(p=0.16,m=0.087)]`")
    assert "Outcome: **completed**: target-validation accuracy 0.500, affinity 1.000" in notes["baseline-none"]
    for status in ("KILLED", "FINISHED"):  # stopped, then resumed and finished: one table, the latest
        tracker.finish_search({}, rows_to_csv(tracker.trial_rows()), None, status=status)
        tracker.attach(tracker.parent_run_id, {})
    # MlflowClient.load_table searches the default store, not the client's: read the file as it does
    table = pandas.read_json(tracker.client.download_artifacts(tracker.parent_run_id, TRIALS_TABLE, str(tmp_path)),
                             orient="split")
    assert list(table["trial"]) == ["baseline-none", "trial-000"] and list(table["outcome"]) == ["completed", "failed"]
    note = tracker.client.get_run(tracker.parent_run_id).data.tags["mlflow.note.content"]
    assert note.startswith("**Search `described`**: finished.\n\n**Result**: baseline-none, target-validation accuracy 0.500")
    assert "**Verdict against the baselines**: none: no searched trial completed" in note
    assert ("**Budget**: 1 searched trial and 1 baseline, 1 epoch each, backbone `test_resnet`, task `digits` "
            "(100 training inputs): 1 completed, 0 pruned, 1 failed;") in note


def test_autoaug_ui_names_the_trials_page_once_the_experiment_exists(tracking_uri: str) -> None:
    assert trials_page(tracking_uri, "autoaug") is None
    assert database_file(tracking_uri) is not None and not database_file(tracking_uri).exists()  # nothing created
    tracker = SearchTracker(tracking_uri, "autoaug", "s")
    page = trials_page(tracking_uri, "autoaug")
    assert page == tracker.runs_page == (f"#/experiments/{tracker.experiment_id}/runs?workflowType=machine_learning"
                                         f"&viewStateShareKey={VIEW_KEY}")
    assert trials_page(tracking_uri, "other") is None
    tags = tracker.client.get_experiment(tracker.experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development" and page in tags["mlflow.note.content"]
    view = json.loads(tags[f"mlflow.sharedViewState.{VIEW_KEY}"])
    assert view["selectedColumns"][:4] == ["metrics.`val_accuracy`", "metrics.`test_accuracy`", "metrics.`affinity`",
                                           "metrics.`diversity`"]
    tracker.client.set_experiment_tag(tracker.experiment_id, "mlflow.note.content", "my own description")
    SearchTracker(tracking_uri, "autoaug", "next")  # a later search keeps the user's description
    assert tracker.client.get_experiment(tracker.experiment_id).tags["mlflow.note.content"] == "my own description"
