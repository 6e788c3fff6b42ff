"""autoaug: automated augmentation-policy search for fine-tuning pre-trained backbones.

The layers, from the top: ``cli``, ``api`` (the Python API), ``tuning`` (Ray and Optuna), ``evaluation``,
``records`` (MLflow), ``modalities`` (the only tensor code the search runs, behind one interface), ``results``,
``config``, ``policy`` and ``ops``; see ARCHITECTURE.md.

The Python API (``autoaug.search``, ``trials``, ``export``, ``evaluate``, ``load_policy``) is ``autoaug.api``'s.

Example:
    >>> import autoaug
    >>> result = autoaug.search(task="digits", trials=4, train_size=200, epochs=1)  # doctest: +SKIP
    >>> transform = autoaug.load_policy(autoaug.export(result, pick="knee").path)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public names and the module that defines each; imported on first use so that the command line
# answers `--help` without loading torch.
_EXPORTS = {
    "search": "autoaug.api",
    "trials": "autoaug.api",
    "export": "autoaug.api",
    "evaluate": "autoaug.api",
    "SearchResult": "autoaug.api",
    "ExportedPolicy": "autoaug.api",
    "load_policy": "autoaug.api",
    "get_modality": "autoaug.modalities",
    "list_modalities": "autoaug.modalities",
    "register_modality": "autoaug.modalities",
    "Modality": "autoaug.modalities",
    "read_policy": "autoaug.policy",
    "save_policy": "autoaug.policy",
    "Policy": "autoaug.policy",
    "PolicyMetadata": "autoaug.policy",
    "OpSpec": "autoaug.policy",
    "register_op": "autoaug.ops",
    "list_ops": "autoaug.ops",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'autoaug' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

