"""The op registry and every registered kernel, called directly on uint8 tensors."""

from __future__ import annotations

import math

import pytest
import torch

from autoaug.errors import PolicyError
from autoaug.ops import Op, _registry, get_op, list_ops, register_op

# Per-image ops on tiny tensors run far slower with several intra-op threads.
torch.set_num_threads(1)

REQUIRED = {
    "identity", "rotate", "shear_x", "shear_y", "translate_x", "translate_y", "hflip", "vflip",
    "random_resized_crop", "brightness", "contrast", "saturation", "sharpness", "hue", "gamma",
    "autocontrast", "equalize", "posterize", "solarize", "invert", "grayscale", "gaussian_blur",
    "gaussian_noise", "downscale", "jpeg", "erasing", "perspective", "elastic", "dilate", "erode", "tint", "zoom_in", "zoom_out",
}  # fmt: skip
# Built-in ops only: other test modules may register ops of their own when they are collected.
OPS = [op for op in list_ops() if op.kernel.__module__.startswith("autoaug.ops.")]
MAGNITUDE_OPS = [op for op in OPS if op.uses_magnitude]
SHAPES = [(3, 32, 32), (1, 32, 32), (3, 24, 40), (1, 24, 40)]
# Ops whose kernels draw extra randomness (positions, noise, fields) from the generator.
RANDOM_OPS = {"random_resized_crop", "perspective", "elastic", "gaussian_noise", "erasing", "tint"}
# JPEG is lossy even at quality 100.
LOSSY_AT_ZERO = {"jpeg"}


def smooth_image(channels: int, height: int, width: int) -> torch.Tensor:
    """Colour gradients with a flat patch: natural enough for JPEG, coloured enough for hue."""
    y = torch.linspace(0, 1, height)[:, None].expand(height, width)
    x = torch.linspace(0, 1, width)[None, :].expand(height, width)
    image = torch.stack([0.1 + 0.8 * x, 0.2 + 0.7 * y, (x + y) / 2])[:channels].clone()
    image[:, height // 4 : height // 2, width // 4 : width // 2] = torch.tensor([0.9, 0.2, 0.5])[:channels, None, None]
    return (image * 255).round().to(torch.uint8)


def value_at(op: Op, magnitude: float) -> float:
    return op.low + magnitude * (op.high - op.low)


def test_registry_has_the_required_ops() -> None:
    assert {op.name for op in OPS} >= REQUIRED


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_op_metadata_is_usable(op: Op) -> None:
    assert get_op(op.name) is op
    assert op.description
    assert math.isfinite(op.low) and math.isfinite(op.high)
    assert callable(op.kernel)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_kernel_keeps_dtype_and_shape_and_leaves_input_alone(op: Op, shape: tuple[int, int, int]) -> None:
    image = smooth_image(*shape)
    original = image.clone()
    generator = torch.Generator().manual_seed(0)
    for magnitude in (0.0, 0.5, 1.0):
        for sign in (1.0, -1.0) if op.signed else (1.0,):
            output = op.kernel(image, sign * value_at(op, magnitude), generator)
            assert output.dtype == torch.uint8
            assert output.shape == image.shape
    assert torch.equal(image, original)


@pytest.mark.parametrize("shape", SHAPES[:2], ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("op", MAGNITUDE_OPS, ids=lambda op: op.name)
def test_magnitude_zero_is_identity(op: Op, shape: tuple[int, int, int]) -> None:
    image = smooth_image(*shape)
    output = op.kernel(image, op.low, torch.Generator().manual_seed(0))
    if op.name in LOSSY_AT_ZERO:
        assert float((output.float() - image.float()).abs().mean()) < 3.0
    else:
        assert torch.equal(output, image)


@pytest.mark.parametrize("op", MAGNITUDE_OPS, ids=lambda op: op.name)
def test_magnitude_one_changes_a_colour_image(op: Op) -> None:
    image = smooth_image(3, 32, 32)
    output = op.kernel(image, op.high, torch.Generator().manual_seed(0))
    assert not torch.equal(output, image)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_seeded_generator_reproduces_the_output(op: Op) -> None:
    image = smooth_image(3, 24, 40)
    torch.manual_seed(1)
    first = op.kernel(image, value_at(op, 0.7), torch.Generator().manual_seed(5))
    torch.manual_seed(2)  # the global generator must not matter
    second = op.kernel(image, value_at(op, 0.7), torch.Generator().manual_seed(5))
    assert torch.equal(first, second)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_only_random_ops_depend_on_the_generator(op: Op) -> None:
    image = smooth_image(3, 32, 32)
    first = op.kernel(image, value_at(op, 1.0), torch.Generator().manual_seed(1))
    second = op.kernel(image, value_at(op, 1.0), torch.Generator().manual_seed(2))
    assert torch.equal(first, second) is (op.name not in RANDOM_OPS)


def test_downscale_reaches_8_pixels_from_32() -> None:
    op = get_op("downscale")
    assert op.low == 1.0
    assert op.high * 32 <= 8
    # At 8 px and back, every 4x4 block of a hard-edged image is smooth: far fewer distinct values.
    image = torch.randint(0, 2, (1, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8) * 255
    output = op.kernel(image, 0.25, None)
    assert float(output.float().std()) < float(image.float().std()) / 2


def test_zoom_in_enlarges_and_zoom_out_shrinks_a_centred_square() -> None:
    image = torch.zeros(1, 32, 32, dtype=torch.uint8)
    image[:, 12:20, 12:20] = 255  # an 8-pixel square in the middle
    enlarged = get_op("zoom_in").kernel(image, 1.5, None)
    shrunk = get_op("zoom_out").kernel(image, 0.5, None)
    assert int((enlarged > 127).sum()) == 12 * 12 and int((shrunk > 127).sum()) == 4 * 4
    assert enlarged[0, 16, 16] == 255 and shrunk[0, 16, 16] == 255 and shrunk[0, 0, 0] == 0


def test_posterize_and_solarize_run_from_identity_to_strong() -> None:
    assert (get_op("posterize").low, get_op("posterize").high) == (8.0, 4.0)
    assert get_op("solarize").low == 256.0 and get_op("solarize").high <= 128.0
    image = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16)
    assert len(get_op("posterize").kernel(image, 4.0, None).unique()) == 16


def test_gaussian_noise_std_is_in_unit_range() -> None:
    image = torch.full((1, 64, 64), 128, dtype=torch.uint8)
    output = get_op("gaussian_noise").kernel(image, 0.1, torch.Generator().manual_seed(0))
    assert float(output.float().std()) == pytest.approx(25.5, rel=0.1)


def test_erasing_fills_a_square_of_the_given_side() -> None:
    image = torch.zeros(1, 32, 32, dtype=torch.uint8)
    output = get_op("erasing").kernel(image, 0.25, torch.Generator().manual_seed(0))
    assert int((output == 128).sum()) == 8 * 8


def bright_dot(channels: int = 1, side: int = 9, value: int = 200) -> torch.Tensor:
    """A single bright pixel in the middle of a dark square image."""
    image = torch.zeros(channels, side, side, dtype=torch.uint8)
    image[:, side // 2, side // 2] = value
    return image


@pytest.mark.parametrize(("radius", "side"), [(0.4, 1), (0.5, 3), (1.0, 3), (1.4, 3), (1.6, 5), (2.0, 5)])
def test_dilate_grows_a_bright_pixel_into_a_square_and_erode_undoes_it(radius: float, side: int) -> None:
    image = bright_dot(channels=3)
    grown = get_op("dilate").kernel(image, radius, None)
    centre, half = 4, side // 2
    square = torch.zeros_like(image)
    square[:, centre - half : centre + half + 1, centre - half : centre + half + 1] = 200
    assert torch.equal(grown, square)
    assert torch.equal(get_op("erode").kernel(grown, radius, None), image)


def test_dilate_and_erode_keep_the_border_values() -> None:
    image = torch.full((1, 6, 6), 90, dtype=torch.uint8)
    image[0, 0, 0] = 250  # a bright corner grows inward only; dark padding never leaks in
    assert get_op("dilate").kernel(image, 1.0, None)[0, :2, :2].eq(250).all()
    assert torch.equal(get_op("erode").kernel(image, 1.0, None), torch.full_like(image, 90))


def test_dilate_thickens_and_erode_thins_a_stroke() -> None:
    image = torch.zeros(1, 16, 16, dtype=torch.uint8)
    image[0, :, 6:10] = 255  # a vertical stroke 4 pixels wide
    assert int(get_op("dilate").kernel(image, 1.0, None).gt(0).sum()) == 16 * 6
    assert int(get_op("erode").kernel(image, 1.0, None).gt(0).sum()) == 16 * 2


def test_tint_casts_grey_to_a_random_colour_keeping_black() -> None:
    image = torch.full((3, 8, 8), 200, dtype=torch.uint8)
    image[:, :4] = 0
    generator = torch.Generator().manual_seed(0)
    tinted = get_op("tint").kernel(image, 1.0, generator)
    assert torch.equal(tinted[:, :4], image[:, :4])
    channels = tinted[:, 4:].flatten(1)
    assert torch.equal(channels.amin(1), channels.amax(1))  # the cast is uniform over the image
    assert int(channels.amax()) == 200 and len(channels[:, 0].unique()) == 3  # one full channel, a colour
    half = get_op("tint").kernel(image, 0.5, torch.Generator().manual_seed(0))[:, 4:].flatten(1)[:, 0]
    assert torch.all(half.int() >= channels[:, 0].int()) and torch.all(half >= 100)


def test_list_ops_filters_by_glob_and_sorts() -> None:
    assert [op.name for op in list_ops("shear_*")] == ["shear_x", "shear_y"]
    names = [op.name for op in list_ops()]
    assert names == sorted(names)
    assert list_ops("no_such_*") == []


def test_get_op_suggests_close_matches_and_lists_known_ops() -> None:
    with pytest.raises(PolicyError, match=r"unknown op 'rotat' \(did you mean 'rotate'\?\); known ops: .*shear_x"):
        get_op("rotat")


def test_registering_a_taken_name_raises() -> None:
    with pytest.raises(PolicyError, match="'rotate' is already registered"):
        register_op("rotate")(lambda image, value, generator: image)


def test_register_op_rejects_a_range_that_does_nothing() -> None:
    with pytest.raises(PolicyError, match="would do nothing"):
        register_op("flat", low=0.5, high=0.5)


def test_register_op_adds_a_user_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))  # keep the global registry clean

    @register_op("darken", low=1.0, high=0.5, description="brightness factor")
    def darken(image: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
        return (image * factor).to(torch.uint8)

    op = get_op("darken")
    assert (op.low, op.high, op.signed, op.uses_magnitude, op.kernel) == (1.0, 0.5, False, True, darken)
    assert [found.name for found in list_ops("dark*")] == ["darken"]


def test_ops_of_two_modalities_may_share_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))  # keep the global registry clean

    @register_op("rotate", modality="signal", high=3.0, description="shift in samples")
    def roll(signal: torch.Tensor, shift: float, generator: torch.Generator | None) -> torch.Tensor:
        return signal.roll(round(shift))

    assert get_op("rotate", "signal").kernel is roll and get_op("rotate").kernel is not roll
    assert [op.name for op in list_ops(modality="signal")] == ["rotate"]
    with pytest.raises(PolicyError, match=r"unknown op 'rotat' \(did you mean 'rotate'\?\); known ops: rotate;"):
        get_op("rotat", "signal")
    with pytest.raises(PolicyError, match="no op is registered for modality 'audio'"):
        get_op("rotate", "audio")
