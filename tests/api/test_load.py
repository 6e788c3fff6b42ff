"""``autoaug.load_policy`` reads a policy from a file or from a real MLflow store by ``runs:/`` and ``models:/`` URI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from autoaug import load_policy
from autoaug.errors import ConfigError, PolicyError
from autoaug.modalities.image import PolicyTransform
from autoaug.policy import OpSpec, Policy, save_policy
from autoaug.records import SearchTracker, find_search, trial_runs

POLICY = Policy("subpolicies", sub_policies=((OpSpec("rotate", 1.0, 0.5), OpSpec("downscale", 0.5, 0.8)),))


@pytest.fixture()
def trial_run(tracking_uri: str) -> str:
    """The run id of a recorded trial of :data:`POLICY`."""
    tracker = SearchTracker(tracking_uri, "autoaug", "s")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.start_trial("t0", "trial-000", POLICY, {}, None)
    tracker.end_trial("t0", "completed")
    client = MlflowClient(tracker.tracking_uri)
    return trial_runs(client, find_search(client, "autoaug", "s"))[0].info.run_id


def _policy(transform: object) -> Policy:
    """The policy a transform was built from, as it ran (the record's name and metadata aside)."""
    assert isinstance(transform, PolicyTransform)
    assert transform.policy.name == "s/trial-000"
    return dataclasses.replace(transform.policy, name="", metadata=None)


def test_a_run_uri_loads_the_trial_policy(trial_run: str, tracking_uri: str, tmp_path: Path) -> None:
    for uri in (f"runs:/{trial_run}/policy.json", f"runs:/{trial_run}"):
        assert _policy(load_policy(uri, tracking_uri=tracking_uri)) == POLICY
    save_policy(POLICY, tmp_path / "policy.json")
    image = torch.arange(3 * 16 * 16, dtype=torch.uint8).reshape(3, 16, 16)
    from_file, from_run = load_policy(tmp_path / "policy.json"), load_policy(f"runs:/{trial_run}", tracking_uri)
    torch.manual_seed(0)
    expected = from_file(image)
    torch.manual_seed(0)
    assert torch.equal(from_run(image), expected)


def test_a_registered_model_version_loads_by_version_and_alias(trial_run: str, tracking_uri: str) -> None:
    client = MlflowClient(tracking_uri)
    client.create_registered_model("digits-policy")
    version = client.create_model_version("digits-policy", source=f"runs:/{trial_run}", run_id=trial_run)
    client.set_registered_model_alias("digits-policy", "champion", version.version)
    for uri in ("models:/digits-policy/1", "models:/digits-policy@champion", "models:/digits-policy/1/policy.json"):
        assert _policy(load_policy(uri, tracking_uri=tracking_uri)) == POLICY


def test_mlflow_tracking_uri_is_the_default_store(
    trial_run: str, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    assert _policy(load_policy(f"runs:/{trial_run}/policy.json")) == POLICY


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("runs:/{run}/nope.json", "nope.json"),
        ("runs:/0123456789abcdef0123456789abcdef/policy.json", "Run with id=0123456789abcdef0123456789abcdef not found"),
        ("models:/missing/1", "missing"),
        ("models:/no-version-given", "not a policy URI; use runs:/<run_id>[/<path>], models:/<name>/<version>"),
    ],
)
def test_a_uri_that_names_nothing_is_a_policy_error_naming_it(
    uri: str, expected: str, trial_run: str, tracking_uri: str
) -> None:
    uri = uri.format(run=trial_run)
    with pytest.raises(PolicyError) as error:
        load_policy(uri, tracking_uri=tracking_uri)
    assert str(error.value).startswith(f"{uri}: ") and expected in str(error.value)


def test_a_uri_without_a_store_creates_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no MLflow store at sqlite:///mlruns/mlflow.db"):
        load_policy("runs:/0123456789abcdef0123456789abcdef/policy.json")
    assert list(tmp_path.iterdir()) == []
