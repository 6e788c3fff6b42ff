"""Image data: in-memory image sets, transfer tasks and their loaders."""

from __future__ import annotations

from autoaug.data._digits import load_digits_task
from autoaug.data._folders import IMAGE_EXTENSIONS, describe_conversions, load_folder_task
from autoaug.data._imageset import ImageSet, TransferTask

__all__ = [
    "IMAGE_EXTENSIONS", "ImageSet", "TransferTask", "describe_conversions", "load_digits_task", "load_folder_task",
]
