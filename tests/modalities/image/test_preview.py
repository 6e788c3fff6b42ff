"""The sample grid: layout, labels, legibility of tiny images, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoaug.errors import PolicyError
from autoaug.modalities.image import render_grid
from autoaug.modalities.image._preview import TITLE_BAND, grid_title
from autoaug.policy import Policy, headline

# Per-image ops on tiny tensors run far slower with several intra-op threads.
torch.set_num_threads(1)

POLICY = Policy("trivial", ops=("rotate", "invert", "downscale", "gaussian_noise"))


def digits(count: int, channels: int, size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (count, channels, size, size), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize(("channels", "count", "samples"), [(1, 3, 4), (3, 2, 1), (3, 1, 0)])
def test_grid_has_one_row_per_image_and_a_column_per_draw(channels: int, count: int, samples: int) -> None:
    grid = render_grid(POLICY, digits(count, channels, 8), samples=samples)
    # 8 px images become 64 px cells; 4 px white gaps around and between cells, below the title band.
    assert grid.mode == "RGB"
    assert grid.size == ((samples + 1) * (64 + 4) + 4, TITLE_BAND + count * (64 + 4) + 4)


def test_first_column_is_the_resized_original_and_gaps_are_white() -> None:
    images = digits(2, 3, 16)
    pixels = np.asarray(render_grid(POLICY, images, samples=2))
    for row, image in enumerate(images):
        original = image.repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1).permute(1, 2, 0).numpy()
        top = TITLE_BAND + 4 + row * 68
        assert (pixels[top : top + 64, 4 : 4 + 64] == original).all()
        assert not (pixels[top : top + 64, 72 : 72 + 64] == original).all()  # a draw is not the original
    grid = pixels[TITLE_BAND:]
    assert (grid[:4] == 255).all() and (grid[:, :4] == 255).all() and (grid[:, 68:72] == 255).all()


def test_a_title_band_with_the_policy_and_the_column_labels_sits_above_the_images() -> None:
    pixels = np.asarray(render_grid(POLICY, digits(1, 3, 8), samples=3))
    title, labels = pixels[:24], pixels[24:TITLE_BAND]
    assert (title < 128).any() and (labels < 200).any()  # dark text on white
    assert (title[:, -4:] == 255).all()  # the title ends before the edge (cut short when too long)
    assert grid_title(POLICY) == headline(POLICY)
    named = Policy("trivial", ops=("rotate",), name="baseline")
    assert grid_title(named) == f"baseline: {headline(named)}"


def test_large_images_are_not_enlarged() -> None:
    assert render_grid(POLICY, digits(1, 3, 96), samples=1).size == (2 * (96 + 4) + 4, TITLE_BAND + 96 + 8)


def test_same_seed_same_grid_other_seed_other_grid() -> None:
    images = digits(2, 1, 8)
    first = np.asarray(render_grid(POLICY, images, seed=1))
    assert (first == np.asarray(render_grid(POLICY, images, seed=1))).all()
    assert not (first == np.asarray(render_grid(POLICY, images, seed=2))).all()


def test_grid_rejects_what_is_not_a_uint8_batch() -> None:
    with pytest.raises(PolicyError, match=r"expected a uint8 tensor \[N, C, H, W\], got torch.float32 \[1, 3, 8, 8\]"):
        render_grid(POLICY, torch.zeros(1, 3, 8, 8))
