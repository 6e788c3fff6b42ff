"""Image data: in-memory image sets, transfer tasks, their loaders and the task registry.

The registry imports without torch (the configuration checks task names with it); the loaders and
containers are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autoaug.modalities.image.data._tasks import BuiltinTask, TaskLoader, get_task, list_tasks, register_task

if TYPE_CHECKING:
    from autoaug.modalities.image.data._digits import load_digits_task
    from autoaug.modalities.image.data._fewshot import load_mnist_fewshot_task
    from autoaug.modalities.image.data._folders import IMAGE_EXTENSIONS, describe_conversions, load_folder_task
    from autoaug.modalities.image.data._imageset import ImageSet, TransferTask
    from autoaug.modalities.image.data._printed import load_printed_task, render_printed_digits

# Names that need torch, and the module that defines each.
_LAZY = {
    "IMAGE_EXTENSIONS": "autoaug.modalities.image.data._folders",
    "ImageSet": "autoaug.modalities.image.data._imageset",
    "TransferTask": "autoaug.modalities.image.data._imageset",
    "describe_conversions": "autoaug.modalities.image.data._folders",
    "load_digits_task": "autoaug.modalities.image.data._digits",
    "load_folder_task": "autoaug.modalities.image.data._folders",
    "load_mnist_fewshot_task": "autoaug.modalities.image.data._fewshot",
    "load_printed_task": "autoaug.modalities.image.data._printed",
    "render_printed_digits": "autoaug.modalities.image.data._printed",
}

__all__ = sorted(["BuiltinTask", "TaskLoader", "get_task", "list_tasks", "register_task", *_LAZY])


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'autoaug.modalities.image.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
