"""The task registry: ``register_task`` fills it, ``get_task`` and ``list_tasks`` read it.

A task is named data of one modality (the image modality's built-in tasks are listed below). This
module imports neither torch nor the loaders, so the configuration and the command line can name and
check tasks cheaply; a built-in task's loader is imported when it is first called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autoaug.errors import ConfigError, did_you_mean
from autoaug.vocabulary import DEFAULT_MODALITY, FILES_TASK

__all__ = ["BuiltinTask", "TaskLoader", "get_task", "list_tasks", "register_task"]

TaskLoader = Callable[..., Any]
"""``loader(image_size=..., train_size=..., val_fraction=..., seed=...)``: the modality's task data."""

_TASKS: dict[str, BuiltinTask] = {}


@dataclass(frozen=True)
class BuiltinTask:
    """A named task the configuration can ask for: its loader and its defaults.

    Attributes:
        name: Registry name, the value of ``--task``.
        description: What the source and the target are, in a line.
        epochs: Fine-tuning epochs used when the configuration does not set ``epochs``.
        train_size: Training images used when the configuration does not set ``train_size``.
        loader: Builds the task from ``image_size`` (the input size; a modality without one ignores it),
            ``train_size``, ``val_fraction`` and ``seed`` (keyword arguments); the same arguments must give
            the same task.
        modality: The modality whose data it is.
        defaults: Other settings (flat names, such as ``backbone`` or ``space``) used when the configuration
            does not set them: what the task needs where the image defaults do not fit.
    """

    name: str
    description: str
    epochs: int
    train_size: int
    loader: TaskLoader
    modality: str = DEFAULT_MODALITY
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def load(self, image_size: int, train_size: int, val_fraction: float, seed: int) -> Any:
        """Builds the task's data with these settings."""
        return self.loader(image_size=image_size, train_size=train_size, val_fraction=val_fraction, seed=seed)


def register_task(
    name: str,
    *,
    description: str,
    epochs: int,
    train_size: int,
    modality: str = DEFAULT_MODALITY,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[[TaskLoader], TaskLoader]:
    """Register a loader as the task ``name``; use it as a decorator.

    Args:
        name: Unique task name ('folders' is taken by the image-folder task).
        description: What the source and the target are, in a line.
        epochs: Default fine-tuning epochs for the task.
        train_size: Default number of training inputs for the task.
        modality: The modality whose data the loader returns.
        defaults: Other settings by flat name (``backbone``, ``space``, ...) the task uses unless configured.

    Returns:
        A decorator that registers the loader and returns it unchanged.

    Raises:
        ConfigError: If the name is taken or a default is below 1.

    Example:
        >>> from autoaug.modalities.image.data import load_digits_task
        >>> @register_task("tiny-digits", description="100 MNIST scans to 8 px digits", epochs=1, train_size=100)
        ... def load_tiny_digits(image_size, train_size, val_fraction, seed):
        ...     return load_digits_task(image_size, train_size, val_fraction, seed)
    """
    if not name or not isinstance(name, str) or name == "folders":
        raise ConfigError(f"task name must be a non-empty string other than 'folders', got {name!r}")
    if epochs < 1 or train_size < 1:
        raise ConfigError(f"task {name!r}: epochs and train_size must be at least 1, got {epochs} and {train_size}")

    def decorator(loader: TaskLoader) -> TaskLoader:
        if name in _TASKS:
            raise ConfigError(f"task {name!r} is already registered ({_TASKS[name].description}); choose another name")
        _TASKS[name] = BuiltinTask(name, description, epochs, train_size, loader, modality, dict(defaults or {}))
        return loader

    return decorator


def get_task(name: str) -> BuiltinTask:
    """Return the registered task ``name``.

    Raises:
        ConfigError: If no such task exists; the message names close matches and the known tasks.
    """
    if isinstance(name, str) and name in _TASKS:
        return _TASKS[name]
    raise ConfigError(f"unknown task {name!r}{did_you_mean(name, _TASKS)}; built-in tasks: {', '.join(_TASKS)}")


def list_tasks(modality: str | None = None) -> list[BuiltinTask]:
    """Return the registered tasks (of ``modality``, else all) in the order they were registered."""
    return [task for task in _TASKS.values() if modality is None or task.modality == modality]


def _deferred(module: str, function: str) -> TaskLoader:
    """A loader that imports ``module`` (and so torch) only when it is called."""

    def load(**settings: object) -> Any:
        return getattr(importlib.import_module(module), function)(**settings)

    return load


# name, modality, loader module and function, default epochs and train_size, description
_BUILTIN_TASKS = (
    ("digits", DEFAULT_MODALITY, "autoaug.modalities.image.data._digits", "load_digits_task", 2, 2000,
     "domain shift: MNIST scans (28 px) to scikit-learn's 8 px digits from another scanner"),
    ("printed", DEFAULT_MODALITY, "autoaug.modalities.image.data._printed", "load_printed_task", 8, 500,
     "sim-to-real: digits rendered from fonts to real handwritten MNIST digits"),
    ("mnist-fewshot", DEFAULT_MODALITY, "autoaug.modalities.image.data._fewshot", "load_mnist_fewshot_task", 24, 250,
     "few-shot, in-domain: 25 MNIST digits per class to train on, the rest of MNIST-5k to score"),
    ("news", "embedding", "autoaug.modalities.embedding.data._news", "load_news_task", 20, 600,
     "20 newsgroups posts through all-MiniLM-L6-v2: train split to test split, 3 groups held out"),
    ("digits-embed", "embedding", "autoaug.modalities.embedding.data._digits", "load_digits_embed_task", 20, 1000,
     "MNIST scans to scikit-learn's 8 px digits through frozen EfficientNet-Lite0, digits 8 and 9 held out"),
    (FILES_TASK, "embedding", "autoaug.modalities.embedding.data._files", "load_files_task", 20, 100_000,
     "your own vectors, texts or images (train_file, val_file; encoder for texts and images)"),
)  # fmt: skip
_EMBEDDING_DEFAULTS = {
    "backbone": "mlp",
    "weights": "none",
    "space": "embedding",
    "baselines": ("none", "e_mixup", "e_stitchup", "soft_e_mixup", "soft_e_stitchup"),
}
for _name, _modality, _module, _function, _epochs, _train_size, _description in _BUILTIN_TASKS:
    register_task(
        _name, description=_description, epochs=_epochs, train_size=_train_size, modality=_modality,
        defaults=_EMBEDDING_DEFAULTS if _modality == "embedding" else None,
    )(_deferred(_module, _function))  # fmt: skip
