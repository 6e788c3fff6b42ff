"""Set-up shared by the tests and the package's docstring examples: offline, single-threaded torch, and no
tracking store taken from the environment (tests never write to the user's MLflow)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("MLFLOW_TRACKING_URI", None)

import torch  # noqa: E402

torch.set_num_threads(1)

import pytest  # noqa: E402
from _pytest.doctest import DoctestItem  # noqa: E402


@pytest.fixture(autouse=True)
def _registries_as_found(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A docstring example that registers an op, a task or a modality leaves the registries as it found them."""
    if isinstance(request.node, DoctestItem):
        from autoaug import tasks
        from autoaug.modalities import _registry as modalities
        from autoaug.modalities import image  # noqa: F401  (the built-in modality registered before the copy)
        from autoaug.ops import _registry as ops

        for module, name in ((ops, "_OPS"), (tasks, "_TASKS"), (modalities, "_MODALITIES")):
            monkeypatch.setattr(module, name, dict(getattr(module, name)))
