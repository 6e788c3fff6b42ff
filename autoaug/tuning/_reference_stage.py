"""The search's reference model: fitted once as a Ray task before any trial, cached on disk."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ray

from autoaug.config import Recipe
from autoaug.errors import AutoaugError
from autoaug.modalities import Backbone, EpochResult, Modality, Reference, Task
from autoaug.progress import REFERENCE, Progress
from autoaug.records import local_store_dir


def reference_cache_dir(tracking_uri: str) -> Path:
    """References are cached beside a local store (``mlruns/reference``), else under the user's cache."""
    folder = local_store_dir(tracking_uri)
    return folder / "reference" if folder else Path.home() / ".cache" / "autoaug" / "reference"


def remote_error(exc: ray.exceptions.RayTaskError) -> Exception:
    """Our own typed error when a Ray task raised one (its message is the fix), else the Ray error."""
    cause = exc.cause
    return cause if isinstance(cause, AutoaugError) else exc


def gather(refs: list[Any], progress: Progress, stage: str, done_before: int = 0) -> list[Any]:
    """The results of the Ray tasks ``refs``, in order; ``stage`` advances from ``done_before`` as each ends, and a
    failed task raises its own error (:func:`remote_error`) as soon as it ends."""
    waiting = list(refs)
    try:
        while waiting:
            # A bounded wait returns to Python every second, so Ctrl-C and SIGTERM stop the stage at once.
            ready, waiting = ray.wait(waiting, num_returns=1, timeout=1.0)
            if ready:
                ray.get(ready)
                progress.stage_advanced(stage, done_before + len(refs) - len(waiting))
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        raise remote_error(exc) from None


def clean_accuracy(reference: Reference) -> float:
    """The reference's accuracy on the clean target-validation data after its last epoch."""
    return reference.epochs[-1].metrics["accuracy"]


def _fit(modality: Modality, task: Task, backbone: Backbone, recipe: Recipe) -> Iterator[int | Reference]:
    """Fine-tune the reference on a thread of this worker: yield each finished epoch's number, then the reference."""
    epochs: queue.Queue[int | None] = queue.Queue()
    outcome: list[Reference | BaseException] = []

    def on_epoch(result: EpochResult, test: dict[str, float] | None) -> None:
        epochs.put(result.epoch)

    def fit() -> None:
        try:
            outcome.append(modality.fit_reference(task, backbone, recipe, on_epoch=on_epoch))
        except BaseException as exc:  # raised again below, on the task's own thread
            outcome.append(exc)
        finally:
            epochs.put(None)

    thread = threading.Thread(target=fit, name="reference-fit", daemon=True)
    thread.start()
    while (epoch := epochs.get()) is not None:
        yield epoch
    thread.join()
    [result] = outcome
    if isinstance(result, BaseException):
        raise result
    yield result


def prepare_reference(
    modality: Modality,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    cache_dir: Path,
    resources: dict[str, float],
    echo: Callable[[str], None],
    progress: Progress,
) -> Reference:
    """The cached reference for these inputs, or one fitted now on a worker with ``resources``.

    Runs before the trials start; every trial and screening task then gets it through the object store.
    The worker streams each finished epoch back, so ``progress`` follows the fit.
    """
    key = modality.reference_key(task, backbone, recipe)
    path = cache_dir / f"reference-{key[:16]}.pt" if key else None
    cached = modality.load_reference(path, key) if path and key else None
    if cached is not None:
        echo(f"reference model (no augmentation): reused {path} (val_accuracy {clean_accuracy(cached):.3f})")
        return cached
    started = time.time()
    fit: Any = ray.remote(_fit).options(num_cpus=resources["cpu"], num_gpus=resources["gpu"], num_returns="streaming")
    progress.stage_started(REFERENCE, recipe.epochs)
    try:
        for streamed in fit.remote(modality, task, backbone, recipe):
            value = ray.get(streamed)
            if isinstance(value, int):
                progress.stage_advanced(REFERENCE, value)
            else:
                reference: Reference = value
    except ray.exceptions.RayTaskError as exc:
        raise remote_error(exc) from None
    finally:
        progress.stage_finished(REFERENCE)
    where = ""
    if path is not None:
        modality.save_reference(reference, path)
        where = f", cached in {path}"
    echo(
        f"reference model (no augmentation): fine-tuned in {time.time() - started:.0f}s "
        f"(val_accuracy {clean_accuracy(reference):.3f}){where}"
    )
    return reference
