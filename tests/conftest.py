"""Shared test set-up: offline, single-threaded torch, and a private MLflow store per test."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import logging  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture()
def tracking_uri(tmp_path: os.PathLike) -> str:
    """A fresh sqlite MLflow store in the test's temp dir."""
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[None]:
    """A local Ray runtime of 2 CPUs in a temp dir of its own, for the tests of one module."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             _temp_dir=tempfile.mkdtemp(prefix="aa-ray-", dir="/tmp"))
    yield
    ray.shutdown()
