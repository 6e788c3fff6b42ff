"""The search's reference model: fine-tuned once as a Ray task before any trial, cached on disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from autoaug.modalities.image._backbone import PretrainedWeights
from autoaug.modalities.image.data import TransferTask
from autoaug.errors import AutoaugError
from autoaug.modalities.image._reference import Reference, fit_reference, load_reference, reference_key, save_reference
from autoaug.records._search import local_store_dir
from autoaug.modalities.image._train import Recipe


def reference_cache_dir(tracking_uri: str) -> Path:
    """References are cached beside a local store (``mlruns/reference``), else under the user's cache."""
    folder = local_store_dir(tracking_uri)
    return folder / "reference" if folder else Path.home() / ".cache" / "autoaug" / "reference"


def remote_error(exc: ray.exceptions.RayTaskError) -> Exception:
    """Our own typed error when a Ray task raised one (its message is the fix), else the Ray error."""
    cause = exc.cause
    return cause if isinstance(cause, AutoaugError) else exc


def prepare_reference(
    task: TransferTask,
    weights: PretrainedWeights,
    recipe: Recipe,
    cache_dir: Path,
    resources: dict[str, float],
    echo: Callable[[str], None],
) -> Reference:
    """The cached reference for these inputs, or one fine-tuned now on a worker with ``resources``.

    Runs before the trials start; every trial and screening task then gets it through the object store.
    """
    key = reference_key(task, weights, recipe)
    path = cache_dir / f"reference-{key[:16]}.pt"
    cached = load_reference(path, key)
    if cached is not None:
        echo(f"reference model (no augmentation): reused {path} (val_accuracy {cached.clean_accuracy:.3f})")
        return cached
    started = time.time()
    fit: Any = ray.remote(fit_reference).options(num_cpus=resources["cpu"], num_gpus=resources["gpu"])
    try:
        reference: Reference = ray.get(fit.remote(task, weights, recipe))
    except ray.exceptions.RayTaskError as exc:
        raise remote_error(exc) from None
    save_reference(reference, path)
    echo(
        f"reference model (no augmentation): fine-tuned in {time.time() - started:.0f}s "
        f"(val_accuracy {reference.clean_accuracy:.3f}), cached in {path}"
    )
    return reference
