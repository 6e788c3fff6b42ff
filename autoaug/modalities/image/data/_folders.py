"""Transfer tasks read from image folders laid out as ``<dir>/<class>/<image file>``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from autoaug.errors import DataError
from autoaug.modalities.image.data._imageset import ImageSet, TransferTask, check_positive
from autoaug.modalities.image.data._split import balanced_subset, stratified_split

__all__ = ["IMAGE_EXTENSIONS", "describe_conversions", "load_folder_task"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_logger = logging.getLogger("autoaug.data")

# What PIL raises for files it cannot identify, truncated data or oversized images.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)

_Files = list[tuple[Path, int]]

# Modes that a plain convert("RGB") would spoil: it clips 16- and 32-bit values at 255 (mostly white).
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_STRETCHED = ("I", "F")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")


def _scan(root: Path, role: str) -> dict[str, list[Path]]:
    """Lists the image files of each class folder, checking that every class has some."""
    if not root.is_dir():
        raise DataError(f"{role} {root} does not exist or is not a directory")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(f"{role} {root} has no class subfolders: expected {root}/<class name>/<image files>")
    classes = {}
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise DataError(
                f"class {class_dir.name!r} of {role} is empty: no image files "
                f"({', '.join(IMAGE_EXTENSIONS)}) in {class_dir}"
            )
        classes[class_dir.name] = files
    return classes


def _check_same_classes(train: set[str], other: set[str], role: str) -> None:
    if train == other:
        return
    problems = [
        f"missing in {where}: {', '.join(sorted(names))}"
        for where, names in ((role, train - other), ("train_dir", other - train))
        if names
    ]
    raise DataError(f"train_dir and {role} must have the same class subfolders; {'; '.join(problems)}")


def _flatten(classes: dict[str, list[Path]], class_names: Sequence[str]) -> _Files:
    return [(path, label) for label, name in enumerate(class_names) for path in classes[name]]


def _pick(files: _Files, indices: torch.Tensor) -> _Files:
    return [files[i] for i in indices.tolist()]


def _labels(files: _Files) -> torch.Tensor:
    return torch.tensor([label for _, label in files], dtype=torch.int64)


def _to_rgb(image: Image.Image) -> tuple[Image.Image, str | None]:
    """The image as 8-bit RGB, and its mode when that took more than a plain conversion.

    16-bit modes (``I;16``...) are divided by 257, mapping the dtype's full range 0..65535 onto 0..255.
    32-bit integer (``I``) and float (``F``) images have no fixed range: their own minimum and maximum
    are stretched onto 0..255 (a constant image keeps its value, clipped to 0..255; NaN and infinite
    pixels count as 0). An alpha channel is dropped: colours are kept as stored, not composited.
    """
    mode = image.mode
    if mode not in (*_SIXTEEN_BIT, *_STRETCHED):
        return image.convert("RGB"), mode if mode in _ALPHA else None
    values = np.asarray(image, dtype=np.float64)
    if mode in _SIXTEEN_BIT:
        values = values / 257
    else:
        values = np.where(np.isfinite(values), values, 0.0)
        low, high = float(values.min()), float(values.max())
        if high > low:
            values = (values - low) * (255 / (high - low))
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB"), mode


def describe_conversions(conversions: Mapping[str, int]) -> str:
    """Files converted to 8-bit RGB by source mode, in words, e.g. ``I;16 x3 (16-bit, divided by 257)``."""
    def how(mode: str) -> str:
        if mode in _SIXTEEN_BIT:
            return "16-bit, divided by 257"
        if mode in _STRETCHED:
            return "stretched from its own min-max"
        return "alpha channel dropped"

    return ", ".join(f"{mode} x{count} ({how(mode)})" for mode, count in sorted(conversions.items()))


def _decode(path: Path, image_size: int) -> tuple[torch.Tensor, str | None]:
    with Image.open(path) as image:
        rgb, converted = _to_rgb(image)
    rgb = rgb.resize((image_size, image_size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1).contiguous(), converted


def _read(
    files: _Files,
    class_names: Sequence[str],
    image_size: int,
    part: tuple[str, Path],
    skipped: list[str],
    conversions: Counter[str],
) -> ImageSet:
    """Decodes ``files``, appending unreadable ones to ``skipped``; every class must keep an image.

    ``conversions`` counts the files that took more than a plain RGB conversion, by source mode.

    ``part`` names the files' role and their root folder, for error messages.
    """
    images, labels = [], []
    for path, label in files:
        try:
            image, converted = _decode(path, image_size)
        except _DECODE_ERRORS as exc:
            _logger.warning("skipping unreadable image %s: %s", path, exc)
            skipped.append(f"{path}: {exc}")
            continue
        images.append(image)
        labels.append(label)
        if converted:
            conversions[converted] += 1
    counts = torch.bincount(torch.tensor(labels, dtype=torch.int64), minlength=len(class_names))
    role, root = part
    for name, count in zip(class_names, counts.tolist(), strict=True):
        if count == 0:
            raise DataError(
                f"class {name!r} of {role} is empty: none of its image files in {root / name} could be "
                "read (see the warnings of logger 'autoaug.modalities.image.data')"
            )
    return ImageSet(torch.stack(images), torch.tensor(labels, dtype=torch.int64))


def load_folder_task(
    train_dir: str | Path,
    val_dir: str | Path,
    test_dir: str | Path | None = None,
    image_size: int = 32,
    val_fraction: float = 0.5,
    max_train_images: int | None = None,
    seed: int = 0,
    name: str = "folders",
) -> TransferTask:
    """Loads a transfer task from image folders.

    Each directory holds one subfolder per class (the same classes everywhere) with image files
    (``.png .jpg .jpeg .bmp .gif .webp .tif .tiff``). Images are converted to 8-bit RGB and resized to
    a square of ``image_size`` pixels (bilinear; the aspect ratio is not kept): 16-bit images are
    divided by 257, 32-bit integer and float images stretched from their own min-max onto 0..255, and
    an alpha channel is dropped; such files are counted by mode in ``TransferTask.conversions`` and
    logged in one line. Every folder is checked before any image is decoded. Unreadable files are
    skipped, logged on logger ``autoaug.modalities.image.data`` and listed in ``TransferTask.skipped``.

    Args:
        train_dir: Source-domain training images.
        val_dir: Target-domain images; split stratified into validation and test unless ``test_dir``
            is given.
        test_dir: Target-domain held-out test images, if kept apart from ``val_dir``.
        image_size: Side of the square images, in pixels.
        val_fraction: Share of each ``val_dir`` class that goes to validation when splitting.
        max_train_images: Keep at most this many training files, balanced over the classes.
        seed: Seed of the split and of the training subset.
        name: Task name shown in reports.

    Returns:
        The task; class names are the sorted subfolder names of ``train_dir``.

    Raises:
        DataError: If a directory is missing or has no class subfolders, a class has no (readable)
            image, the class sets differ, or a target class is too small to split.

    Example:
        >>> task = load_folder_task("photos/train", "sketches/val", image_size=64)  # doctest: +SKIP
    """
    check_positive("image_size", image_size)
    train_root, val_root = Path(train_dir), Path(val_dir)
    train_classes = _scan(train_root, "train_dir")
    val_classes = _scan(val_root, "val_dir")
    _check_same_classes(set(train_classes), set(val_classes), "val_dir")
    class_names = tuple(sorted(train_classes))
    train_files = _flatten(train_classes, class_names)
    val_files = _flatten(val_classes, class_names)
    if test_dir is None:
        val_idx, test_idx = stratified_split(
            _labels(val_files), val_fraction, class_names, seed, source=f"val_dir {val_root}"
        )
        targets = (
            (_pick(val_files, val_idx), ("the validation part of val_dir", val_root)),
            (_pick(val_files, test_idx), ("the test part of val_dir", val_root)),
        )
    else:
        test_root = Path(test_dir)
        test_classes = _scan(test_root, "test_dir")
        _check_same_classes(set(train_classes), set(test_classes), "test_dir")
        targets = (
            (val_files, ("val_dir", val_root)),
            (_flatten(test_classes, class_names), ("test_dir", test_root)),
        )
    if max_train_images is not None:
        check_positive("max_train_images", max_train_images)
        keep = balanced_subset(_labels(train_files), max_train_images, len(class_names), seed)
        train_files = _pick(train_files, keep)

    skipped: list[str] = []
    conversions: Counter[str] = Counter()
    train, val, test = (
        _read(files, class_names, image_size, part, skipped, conversions)
        for files, part in ((train_files, ("train_dir", train_root)), *targets)
    )
    if skipped:
        _logger.warning("skipped %d unreadable image file(s) in task %r", len(skipped), name)
    if conversions:
        _logger.info(
            "converted %d image file(s) of task %r to 8-bit RGB: %s",
            conversions.total(), name, describe_conversions(conversions),
        )
    return TransferTask(name, class_names, train, val, test, skipped=tuple(skipped), conversions=dict(conversions))
