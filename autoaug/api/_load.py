"""``load_policy``: a policy file or an MLflow URI in, the augmentation its modality builds out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoaug.config import default_tracking_uri
from autoaug.modalities import get_modality
from autoaug.policy import read_policy

_MLFLOW_SCHEMES = ("runs:/", "models:/")


def load_policy(source: str | Path, tracking_uri: str | None = None) -> Callable[..., Any]:
    """Read a policy and return the augmentation its modality builds from it.

    An image policy (every version-1 file is one) gives a torchvision v2 transform.

    Args:
        source: A policy file (``autoaug export`` writes one), or an MLflow URI: ``runs:/<run_id>/policy.json``
            (a trial's policy; the path defaults to ``policy.json``, and a search's parent run holds
            ``best_policy.json``), ``models:/<name>/<version>`` or ``models:/<name>@<alias>`` (a registered
            model version whose source is a run's artifacts).
        tracking_uri: The MLflow store a URI is read from (default: ``$MLFLOW_TRACKING_URI``, else
            ``sqlite:///mlruns/mlflow.db``); it must exist: nothing is created.

    Raises:
        AutoaugError: If the file or artifact is no valid policy, the URI names nothing in the store, there is
            no store, or the policy names a modality that is not registered.

    Example:
        >>> transform = load_policy("best_policy.json")  # doctest: +SKIP
        >>> augmented = transform(pil_image)  # doctest: +SKIP
        >>> best = load_policy(f"runs:/{parent_run_id}/best_policy.json")  # doctest: +SKIP
    """
    if isinstance(source, str) and source.startswith(_MLFLOW_SCHEMES):
        from autoaug.records import read_policy_uri  # here: MLflow is imported only to read a URI

        policy = read_policy_uri(source, tracking_uri or default_tracking_uri())
    else:
        policy = read_policy(source)
    return get_modality(policy.modality).build_augmentation(policy)
