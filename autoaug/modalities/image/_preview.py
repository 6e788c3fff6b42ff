"""A grid of augmented samples, to see what a policy does to a few images."""

from __future__ import annotations

import math

import PIL.Image
import torch
from torchvision.transforms.v2 import functional as F

from autoaug.errors import PolicyError
from autoaug.modalities.image._transform import PolicyTransform
from autoaug.modalities.image.data import TransferTask
from autoaug.policy import Policy

_MIN_CELL = 64  # smallest cell side in pixels, so that tiny images stay legible
_GAP = 4


def render_grid(policy: Policy, images: torch.Tensor, samples: int = 8, seed: int = 0) -> PIL.Image.Image:
    """Draw one row per image: the original, then ``samples`` augmented draws, on white.

    Images smaller than 64 px are enlarged with nearest-neighbour so the grid stays legible.

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
    height, width = images.shape[-2:]
    scale = max(1, math.ceil(_MIN_CELL / min(height, width)))
    cell_h, cell_w = height * scale, width * scale
    rows, columns = images.shape[0], samples + 1
    canvas = torch.full((3, rows * (cell_h + _GAP) + _GAP, columns * (cell_w + _GAP) + _GAP), 255, dtype=torch.uint8)
    for row, image in enumerate(images):
        cells = [image, *(transform(image) for _ in range(samples))]
        for column, cell in enumerate(cells):
            top, left = _GAP + row * (cell_h + _GAP), _GAP + column * (cell_w + _GAP)
            enlarged = cell.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
            canvas[:, top : top + cell_h, left : left + cell_w] = enlarged.expand(3, -1, -1)
    return F.to_pil_image(canvas)


def preview_images(task: TransferTask, count: int = 6) -> torch.Tensor:
    """One training image from each of the first ``count`` classes, for the sample grids."""
    firsts = [int((task.train.labels == label).nonzero()[0]) for label in range(min(count, task.num_classes))]
    return task.train.images[firsts]
