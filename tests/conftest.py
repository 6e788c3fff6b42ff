"""Shared test fixtures: a private MLflow store per test, a local Ray runtime per module (offline and
single-threaded torch come from the root conftest)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

# A script the cluster tests run as a command; imported for its doctests it would register its op here.
collect_ignore = ["held_search.py"]


@pytest.fixture()
def tracking_uri(tmp_path: os.PathLike) -> str:
    """A fresh sqlite MLflow store in the test's temp dir."""
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[None]:
    """A local Ray runtime of 2 CPUs in a temp dir of its own, removed afterwards, for the tests of one module."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="aa-ray-", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, _temp_dir=temp_dir)
    yield
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)
