"""The optional, versioned ``metadata`` of a policy file: round trips, old files, strict keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from autoaug import load_policy
from autoaug.errors import PolicyError
from autoaug.modalities.image import PolicyTransform, policy_to_snippet
from autoaug.policy import OpSpec, Policy, PolicyMetadata, read_policy, save_policy

POLICY = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8), OpSpec("rotate", 0.5, 0.3)),), name="lowres")
METADATA = PolicyMetadata(search="digits-v1", trial="trial-004", run_id="abc123", pick="knee", val_accuracy=0.512,
                          test_accuracy=0.498, affinity=0.81, diversity=1.7)
# A version-1 file as autoaug wrote it before metadata existed.
OLD_FILE = """{
  "format": "autoaug-policy",
  "version": 1,
  "name": "lowres",
  "structure": "subpolicies",
  "sub_policies": [
    [
      {"op": "downscale", "probability": 0.7, "magnitude": 0.8, "range": [1.0, 0.2], "signed": false},
      {"op": "rotate", "probability": 0.5, "magnitude": 0.3, "range": [0.0, 30.0], "signed": true}
    ]
  ]
}
"""


def with_metadata(policy: Policy = POLICY) -> Policy:
    return Policy(**{**policy.__dict__, "metadata": METADATA})


def test_round_trip_with_metadata_is_exact(tmp_path: Path) -> None:
    policy = with_metadata()
    save_policy(policy, tmp_path / "p.json")
    again = read_policy(tmp_path / "p.json")
    assert again == policy and again.metadata == METADATA
    assert again.to_json() == policy.to_json()
    stored = json.loads(policy.to_json())["metadata"]
    assert stored["version"] == 1 and stored["trial"] == "trial-004" and stored["feature_relevance"] is None


def test_old_files_without_metadata_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(OLD_FILE)
    assert read_policy(path) == POLICY
    assert read_policy(path).metadata is None
    assert load_policy(path)(torch.zeros(3, 16, 16, dtype=torch.uint8)).shape == (3, 16, 16)
    assert "metadata" not in POLICY.to_dict()


def test_metadata_does_not_change_what_the_policy_does() -> None:
    image = torch.randint(0, 256, (3, 24, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    plain = PolicyTransform(POLICY, generator=torch.Generator().manual_seed(1))
    tagged = PolicyTransform(with_metadata(), generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(plain(image), tagged(image)) for _ in range(5))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"flavour": "x"}, r"metadata\.flavour: unknown key \(allowed: version, search, trial"),
        ({"version": 2}, r"metadata\.version: unsupported version 2"),
        ({"affinity": "high"}, r"metadata\.affinity: expected a finite number or null, got 'high'"),
        ({"trial": 3}, r"metadata\.trial: expected a string, got 3"),
    ],
)
def test_bad_metadata_names_the_file_and_the_key(edit: dict, expected: str, tmp_path: Path) -> None:
    data = with_metadata().to_dict()
    data["metadata"].update(edit)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=f"{path}: {expected}"):
        read_policy(path)


def test_metadata_that_is_no_object_is_an_error() -> None:
    data = {**POLICY.to_dict(), "metadata": [1]}
    with pytest.raises(PolicyError, match="x.json: metadata: expected an object, got list"):
        Policy.from_dict(data, source="x.json")


def test_from_scores_keeps_known_finite_scores_only() -> None:
    metadata = PolicyMetadata.from_scores({"val_accuracy": 0.5, "affinity": float("nan"), "train_loss": 0.1}, trial="t")
    assert metadata.scores() == {"val_accuracy": 0.5}


def test_snippet_docstring_names_the_origin_and_scores() -> None:
    source = policy_to_snippet(with_metadata())
    assert "Exported from search 'digits-v1', trial 'trial-004' (pick: knee)" in source
    assert "affinity 0.81" in source
    assert "Exported from" not in policy_to_snippet(POLICY)
