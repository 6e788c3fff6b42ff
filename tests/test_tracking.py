from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from autoaug.errors import ConfigError
from autoaug.policy import OpSpec, Policy, baseline_policies
from autoaug.tracking import DATA_REPORT, SearchTracker, find_search, headline, prepare_store


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


def test_data_report_lists_conversions_and_skipped_files(tracking_uri: str, tmp_path: Path) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "report")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.log_data_report({"I;16": 3, "RGBA": 1}, ("data/a/broken.png: cannot identify image file",))
    path = tracker.client.download_artifacts(tracker.parent_run_id, DATA_REPORT, str(tmp_path))
    assert json.loads(Path(path).read_text()) == {
        "conversions": {"I;16": 3, "RGBA": 1},
        "skipped": ["data/a/broken.png: cannot identify image file"],
    }
