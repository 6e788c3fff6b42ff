"""Image data: in-memory image sets, transfer tasks and their loaders (the built-in tasks of ``autoaug.tasks``)."""

from __future__ import annotations

from autoaug.modalities.image.data._digits import load_digits_task, load_sklearn_digits
from autoaug.modalities.image.data._fewshot import load_mnist_fewshot_task
from autoaug.modalities.image.data._folders import IMAGE_EXTENSIONS, describe_conversions, load_folder_task
from autoaug.modalities.image.data._imageset import ImageSet, TransferTask
from autoaug.modalities.image.data._mnist import DIGIT_CLASSES, gray_image_set, load_mnist_5k
from autoaug.modalities.image.data._printed import load_printed_task, render_printed_digits

__all__ = [
    "DIGIT_CLASSES",
    "IMAGE_EXTENSIONS",
    "ImageSet",
    "TransferTask",
    "describe_conversions",
    "gray_image_set",
    "load_digits_task",
    "load_folder_task",
    "load_mnist_5k",
    "load_mnist_fewshot_task",
    "load_printed_task",
    "load_sklearn_digits",
    "render_printed_digits",
]
