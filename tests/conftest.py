"""Shared test set-up: offline, single-threaded torch, and a private MLflow store per test."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture()
def tracking_uri(tmp_path: os.PathLike) -> str:
    """A fresh sqlite MLflow store in the test's temp dir."""
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"
