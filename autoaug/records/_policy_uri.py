"""Policies read back from the MLflow store: a run's artifact, or a registered model version's."""

from __future__ import annotations

import posixpath
import re
import tempfile

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from autoaug.errors import PolicyError
from autoaug.policy import Policy, read_policy
from autoaug.records._store import cause, environment, existing_store_client

POLICY_ARTIFACT = "policy.json"
POLICY_URI_FORMS = "runs:/<run_id>[/<path>], models:/<name>/<version>[/<path>] or models:/<name>@<alias>[/<path>]"
"""The MLflow URIs a policy is read from; the path defaults to ``policy.json``."""
_RUN = re.compile(r"runs:/(?P<run_id>[0-9A-Za-z_-]+)(?:/(?P<path>.*))?")
_MODEL = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>[0-9]+)|@(?P<alias>[^/]+))(?:/(?P<path>.*))?")


def read_run_policy(client: MlflowClient, run_id: str, path: str = POLICY_ARTIFACT, source: str = "") -> Policy:
    """The policy in artifact ``path`` of run ``run_id``, validated; errors name ``source`` (default: the run)."""
    with tempfile.TemporaryDirectory() as folder, environment({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}):
        local = client.download_artifacts(run_id, path, folder)
        return read_policy(local, name=source or f"run {run_id}/{path}")


def read_policy_uri(uri: str, tracking_uri: str) -> Policy:
    """The policy an MLflow URI names (see :data:`POLICY_URI_FORMS`), from the existing store at ``tracking_uri``.

    A ``models:/`` URI names a registered model version whose source is a run's artifacts (``runs:/<run_id>``
    or a folder of them), as ``mlflow.register_model("runs:/<run_id>", name)`` records it.

    Raises:
        ConfigError: There is no store at ``tracking_uri``.
        PolicyError: The URI is malformed, or names a run, model, version, alias or artifact that the store does
            not hold, or no valid policy; naming the URI.
    """
    client = existing_store_client(tracking_uri)
    try:
        run_id, path = _run_artifact(client, uri)
        return read_run_policy(client, run_id, path, source=uri)
    except MlflowException as exc:
        raise PolicyError(f"{uri}: {cause(exc)} (MLflow store {tracking_uri})") from None


def _run_artifact(client: MlflowClient, uri: str) -> tuple[str, str]:
    """The run and the artifact path that a ``runs:/`` or ``models:/`` URI names."""
    if run := _RUN.fullmatch(uri):
        return run["run_id"], run["path"] or POLICY_ARTIFACT
    model = _MODEL.fullmatch(uri)
    if model is None:
        raise PolicyError(f"{uri}: not a policy URI; use {POLICY_URI_FORMS}")
    if model["alias"]:
        version = client.get_model_version_by_alias(model["name"], model["alias"])
    else:
        version = client.get_model_version(model["name"], model["version"])
    source = _RUN.fullmatch(version.source or "")
    if source is None:
        raise PolicyError(f"{uri}: the model version's source {version.source!r} is not a run's artifacts; "
                          "register one as mlflow.register_model('runs:/<run_id>', name)")
    return source["run_id"], posixpath.join(source["path"] or "", model["path"] or POLICY_ARTIFACT)
