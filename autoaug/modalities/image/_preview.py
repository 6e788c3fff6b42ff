"""A grid of augmented samples, to see what a policy does to a few images."""

from __future__ import annotations

import math

import PIL.Image
import torch
from PIL import ImageDraw, ImageFont
from torchvision.transforms.v2 import functional as F
from torchvision.utils import make_grid

from autoaug.errors import PolicyError
from autoaug.modalities.image._transform import PolicyTransform
from autoaug.modalities.image.data import TransferTask
from autoaug.policy import Policy, headline

__all__ = ["TITLE_BAND", "grid_title", "preview_images", "render_grid"]

_MIN_CELL = 64  # smallest cell side in pixels, so that tiny images stay legible
_GAP = 4
_FONT = 13
_TITLE = 24
_LABELS = 18
TITLE_BAND = _TITLE + _LABELS
"""Height in pixels of the bands above the images: the policy's title, then the column labels."""


def grid_title(policy: Policy) -> str:
    """The title of a policy's sample grid: its name, if it has one, and its headline.

    Example:
        >>> grid_title(Policy("trivial", ops=("rotate", "equalize"), name="mine"))
        'mine: trivial: 1 op from {rotate, equalize} at a uniformly drawn m'
    """
    return f"{policy.name}: {headline(policy)}" if policy.name else headline(policy)


def render_grid(policy: Policy, images: torch.Tensor, samples: int = 8, seed: int = 0) -> PIL.Image.Image:
    """Draw one row per image: the original, then ``samples`` augmented draws, under the policy's title.

    Images smaller than 64 px are enlarged with nearest-neighbour so the grid stays legible. The
    cells are laid out by ``torchvision.utils.make_grid`` (4 px white gaps); above them a band of
    :data:`TITLE_BAND` pixels holds :func:`grid_title` and the column labels ("original", then the
    draws with their seed).

    Args:
        policy: The policy to show.
        images: uint8 tensor [N, C, H, W] with C = 1 or 3.
        samples: Augmented draws per image.
        seed: Seed of the draws; the same seed gives the same grid.

    Returns:
        An RGB image.

    Example:
        >>> grid = render_grid(policy, images[:4])  # doctest: +SKIP
        >>> grid.save("samples.png")  # doctest: +SKIP
    """
    if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.ndim == 4):
        found = f"{images.dtype} {list(images.shape)}" if isinstance(images, torch.Tensor) else type(images).__name__
        raise PolicyError(f"render_grid: expected a uint8 tensor [N, C, H, W], got {found}")
    if samples < 0:
        raise PolicyError(f"render_grid: samples must be >= 0, got {samples}")
    transform = PolicyTransform(policy, generator=torch.Generator().manual_seed(seed))
    cells = torch.stack([cell for image in images for cell in (image, *(transform(image) for _ in range(samples)))])
    scale = max(1, math.ceil(_MIN_CELL / min(images.shape[-2:])))
    enlarged = cells.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    grid = make_grid(enlarged, nrow=samples + 1, padding=_GAP, pad_value=255)
    if len(enlarged) == 1:  # make_grid returns a lone cell as it is
        grid = F.pad(grid, [_GAP], fill=255)
    grid = F.to_pil_image(grid)
    canvas = PIL.Image.new("RGB", (grid.width, TITLE_BAND + grid.height), "white")
    canvas.paste(grid, (0, TITLE_BAND))
    _label(canvas, samples, cell=enlarged.shape[-1], title=grid_title(policy), seed=seed)
    return canvas


def _label(canvas: PIL.Image.Image, samples: int, *, cell: int, title: str, seed: int) -> None:
    """Write the title across the top band and the column labels above the cells."""
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=_FONT)
    draw.text((_GAP, _TITLE // 2), _fit(draw, title, canvas.width - 2 * _GAP, font), fill="black", font=font,
              anchor="lm")
    labels = [("original", _GAP, cell)]
    if samples:
        labels.append((f"augmented draws (seed {seed})", 2 * _GAP + cell, samples * (cell + _GAP) - _GAP))
    for text, left, width in labels:
        draw.text((left + width // 2, _TITLE + _LABELS // 2), _fit(draw, text, width, font), fill="dimgray",
                  font=font, anchor="mm")


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, font: ImageFont.FreeTypeFont) -> str:
    """``text``, cut short with an ellipsis where it is wider than ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def preview_images(task: TransferTask, count: int = 6) -> torch.Tensor:
    """One training image from each of the first ``count`` classes, for the sample grids."""
    firsts = [int((task.train.labels == label).nonzero()[0]) for label in range(min(count, task.num_classes))]
    return task.train.images[firsts]
