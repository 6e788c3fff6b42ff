"""The search's reference model: fitted once as a Ray task before any trial, cached on disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from autoaug.config import Recipe
from autoaug.errors import AutoaugError
from autoaug.modalities import Backbone, Modality, Reference, Task
from autoaug.records import local_store_dir


def reference_cache_dir(tracking_uri: str) -> Path:
    """References are cached beside a local store (``mlruns/reference``), else under the user's cache."""
    folder = local_store_dir(tracking_uri)
    return folder / "reference" if folder else Path.home() / ".cache" / "autoaug" / "reference"


def remote_error(exc: ray.exceptions.RayTaskError) -> Exception:
    """Our own typed error when a Ray task raised one (its message is the fix), else the Ray error."""
    cause = exc.cause
    return cause if isinstance(cause, AutoaugError) else exc


def clean_accuracy(reference: Reference) -> float:
    """The reference's accuracy on the clean target-validation data after its last epoch."""
    return reference.epochs[-1].metrics["accuracy"]


def _fit(modality: Modality, task: Task, backbone: Backbone, recipe: Recipe) -> Reference:
    return modality.fit_reference(task, backbone, recipe)


def prepare_reference(
    modality: Modality,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    cache_dir: Path,
    resources: dict[str, float],
    echo: Callable[[str], None],
) -> Reference:
    """The cached reference for these inputs, or one fitted now on a worker with ``resources``.

    Runs before the trials start; every trial and screening task then gets it through the object store.
    """
    key = modality.reference_key(task, backbone, recipe)
    path = cache_dir / f"reference-{key[:16]}.pt" if key else None
    cached = modality.load_reference(path, key) if path and key else None
    if cached is not None:
        echo(f"reference model (no augmentation): reused {path} (val_accuracy {clean_accuracy(cached):.3f})")
        return cached
    started = time.time()
    fit: Any = ray.remote(_fit).options(num_cpus=resources["cpu"], num_gpus=resources["gpu"])
    try:
        reference: Reference = ray.get(fit.remote(modality, task, backbone, recipe))
    except ray.exceptions.RayTaskError as exc:
        raise remote_error(exc) from None
    where = ""
    if path is not None:
        modality.save_reference(reference, path)
        where = f", cached in {path}"
    echo(
        f"reference model (no augmentation): fine-tuned in {time.time() - started:.0f}s "
        f"(val_accuracy {clean_accuracy(reference):.3f}){where}"
    )
    return reference
