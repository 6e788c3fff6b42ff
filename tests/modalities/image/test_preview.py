"""The sample grid: layout, legibility of tiny images, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoaug.errors import PolicyError
from autoaug.modalities.image import render_grid
from autoaug.policy import Policy

# Per-image ops on tiny tensors run far slower with several intra-op threads.
torch.set_num_threads(1)

POLICY = Policy("trivial", ops=("rotate", "invert", "downscale", "gaussian_noise"))


def digits(count: int, channels: int, size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (count, channels, size, size), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_has_one_row_per_image_and_enlarges_tiny_images(channels: int) -> None:
    grid = render_grid(POLICY, digits(3, channels, 8), samples=4)
    # 8 px images become 64 px cells; 4 px white gaps around and between cells.
    assert grid.mode == "RGB"
    assert grid.size == (5 * (64 + 4) + 4, 3 * (64 + 4) + 4)


def test_first_column_is_the_original_and_gaps_are_white() -> None:
    images = digits(2, 3, 16)
    pixels = np.asarray(render_grid(POLICY, images, samples=2))
    original = images[1].repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1).permute(1, 2, 0).numpy()
    top = 4 + 68
    assert (pixels[top : top + 64, 4 : 4 + 64] == original).all()
    assert (pixels[:4] == 255).all() and (pixels[:, :4] == 255).all()


def test_large_images_are_not_enlarged() -> None:
    assert render_grid(POLICY, digits(1, 3, 96), samples=1).size == (2 * (96 + 4) + 4, 96 + 8)


def test_same_seed_same_grid_other_seed_other_grid() -> None:
    images = digits(2, 1, 8)
    first = np.asarray(render_grid(POLICY, images, seed=1))
    assert (first == np.asarray(render_grid(POLICY, images, seed=1))).all()
    assert not (first == np.asarray(render_grid(POLICY, images, seed=2))).all()


def test_grid_rejects_what_is_not_a_uint8_batch() -> None:
    with pytest.raises(PolicyError, match=r"expected a uint8 tensor \[N, C, H, W\], got torch.float32 \[1, 3, 8, 8\]"):
        render_grid(POLICY, torch.zeros(1, 3, 8, 8))
