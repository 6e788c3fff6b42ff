"""`autoaug export --format`: each library's export, applied to real digits images, gives autoaug's outcomes as often.

A policy at fixed magnitudes has a finite set of outcomes per image (which sub-policy, which steps fire, which
sign), enumerated here with autoaug's kernels alone. Each export (run by the real library) and autoaug's own
transform are applied many times with seeded generators; every output must be one of the outcomes, pixel for
pixel up to the library's tolerance, and each outcome must come up about as often as its probability.

Tolerances, in grey levels: torchvision 1, as its transforms call the same functions as the ops but draw their
parameters as float32 (``uniform_(a, a)``); timm, albumentations and kornia 1, as PIL and OpenCV round
interpolation and colour conversions in fixed point and kornia computes in float, so a pixel can land on the
other side of a rounding boundary; saturation 2 in albumentations and kornia, as torchvision (and so autoaug)
truncates the grey image to whole levels before blending away from it, by up to 1.9 times the difference.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import pytest
import torch

from autoaug.errors import ExportError
from autoaug.modalities.image import PolicyTransform, baseline_policies
from autoaug.modalities.image._interop import LIBRARIES, library_source, mapping_table
from autoaug.modalities.image.data import load_digits_task
from autoaug.ops import get_op, list_ops
from autoaug.policy import OpSpec, Policy
from autoaug.vocabulary import EXPORT_FORMATS

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[3]
TOLERANCE = {"torchvision": 1, "timm": 1, "albumentations": 1, "kornia": 1}
WIDER = {("albumentations", "saturation"): 2, ("kornia", "saturation"): 2}
BUILTIN_OPS = [op for op in list_ops() if op.kernel.__module__.startswith("autoaug.ops.")]
Image = torch.Tensor  # uint8 [3, H, W]


@pytest.fixture(scope="module")
def digits() -> list[Image]:
    """Two real digits at 32 px: one grey, one colour-cast by autoaug's tint op (colour ops need colour)."""
    images = load_digits_task(image_size=32, train_size=20, seed=0).train.images
    return [images[0], get_op("tint").kernel(images[1], 0.8, torch.Generator().manual_seed(0))]


def build(policy: Policy, library: str) -> Callable[[Image], Image]:
    """The export of ``policy`` for ``library`` as a function of one uint8 [3, H, W] image, seeded."""
    namespace: dict[str, Any] = {"__name__": f"export_{library}"}
    exec(compile(library_source(policy, library), f"<{library}>", "exec"), namespace)
    if library == "albumentations":
        transform = namespace["build_policy"](seed=0)
        return lambda image: torch.from_numpy(transform(image=image.permute(1, 2, 0).numpy().copy())["image"]).permute(2, 0, 1)
    transform = namespace["build_policy"]()
    torch.manual_seed(0)
    if library == "timm":
        random.seed(0)
        np.random.seed(0)
        return lambda image: torch.from_numpy(np.array(transform(PIL.Image.fromarray(image.permute(1, 2, 0).numpy())))).permute(2, 0, 1)
    if library == "kornia":
        return lambda image: (transform(image[None].float() / 255)[0] * 255).round().to(torch.uint8)
    return transform


def outcomes(rounds: int, choices: list[list[OpSpec]], image: Image) -> list[tuple[Image, float]]:
    """Every output of ``rounds`` uniform picks among ``choices`` (steps fire with their probability, signed ops
    at +v or -v), with its probability; outputs equal to 1 grey level are merged."""
    states = [(image, 1.0)]
    for _ in range(rounds):
        picked = []
        for choice in choices:
            branch = [(state, chance / len(choices)) for state, chance in states]
            for spec in choice:
                op = get_op(spec.name)
                value = op.low + spec.magnitude * (op.high - op.low)
                signs = [value, -value] if op.signed and value != 0 else [value]
                branch = [(state, chance * (1 - spec.probability)) for state, chance in branch] + [
                    (op.kernel(state, signed, None), chance * spec.probability / len(signs))
                    for state, chance in branch for signed in signs
                ]
            picked += branch
        states = picked
    merged: list[tuple[Image, float]] = []
    for state, chance in states:
        if chance == 0:
            continue
        same = next((i for i, (kept, _) in enumerate(merged) if _distance(kept, state) <= 1), None)
        if same is None:
            merged.append((state, chance))
        else:
            merged[same] = (merged[same][0], merged[same][1] + chance)
    return merged


def _distance(a: Image, b: Image) -> int:
    return int((a.int() - b.int()).abs().max())


def check_distribution(apply: Callable[[Image], Image], expected: list[tuple[Image, float]], image: Image,
                       tolerance: int, draws: int) -> None:
    """Every output is an expected outcome to ``tolerance`` grey levels; each outcome comes up as often as its
    probability, to 4 standard deviations of its count (the seeds make it deterministic)."""
    counts = [0] * len(expected)
    for _ in range(draws):
        output = apply(image)
        distances = [_distance(output, outcome) for outcome, _ in expected]
        nearest = int(np.argmin(distances))
        assert distances[nearest] <= tolerance, f"an output is {distances[nearest]} grey levels from every outcome"
        counts[nearest] += 1
    for count, (_, chance) in zip(counts, expected, strict=True):
        assert abs(count / draws - chance) <= 4 * (chance * (1 - chance) / draws) ** 0.5, (
            counts, [round(c, 3) for _, c in expected])


def mappable(library: str) -> list[str]:
    return [name for name, row in mapping_table(BUILTIN_OPS).items() if row[library] in ("yes", "fixed m")]


@pytest.mark.parametrize(("library", "op"), [(library, op) for library in EXPORT_FORMATS for op in mappable(library)])
def test_each_mapped_op_matches_autoaug_pixel_for_pixel(library: str, op: str, digits: list[Image]) -> None:
    """p = 1 at a fixed magnitude: one outcome, or +v and -v for a signed op, each half the time."""
    policy = Policy("subpolicies", sub_policies=((OpSpec(op, 1.0, 0.7),),))
    for image in digits:
        expected = outcomes(1, [[OpSpec(op, 1.0, 0.7)]], image)
        check_distribution(build(policy, library), expected, image, WIDER.get((library, op), TOLERANCE[library]), draws=60)


# Ops that are exact in the library (flips, posterize, solarize...) come first in a sub-policy: a 1-level
# difference going into posterize or solarize could come out as a jump of several levels.
POLICIES = {
    "torchvision": Policy("subpolicies", sub_policies=(
        (OpSpec("solarize", 1.0, 0.5), OpSpec("rotate", 0.5, 0.4)),
        (OpSpec("jpeg", 0.6, 0.5), OpSpec("shear_x", 1.0, 0.5)),
        (OpSpec("saturation", 0.7, 0.6), OpSpec("zoom_out", 1.0, 0.5)),
    )),
    "timm": Policy("subpolicies", sub_policies=(
        (OpSpec("posterize", 1.0, 0.8), OpSpec("saturation", 0.5, 0.6)),
        (OpSpec("identity", 1.0, 0.0), OpSpec("contrast", 0.7, 0.9)),
        (OpSpec("equalize", 1.0, 0.0), OpSpec("sharpness", 1.0, 0.3)),
    )),
    "albumentations": Policy("subpolicies", sub_policies=(
        (OpSpec("posterize", 1.0, 0.8), OpSpec("rotate", 0.5, 0.4)),
        (OpSpec("gaussian_blur", 0.6, 0.5), OpSpec("brightness", 1.0, 0.5)),
        (OpSpec("hflip", 1.0, 0.0), OpSpec("zoom_in", 0.7, 0.6)),
    )),
    "kornia": Policy("subpolicies", sub_policies=(
        (OpSpec("solarize", 1.0, 0.5), OpSpec("rotate", 0.5, 0.4)),
        (OpSpec("invert", 0.6, 0.0), OpSpec("hue", 1.0, 0.5)),
        (OpSpec("vflip", 1.0, 0.0), OpSpec("zoom_in", 0.7, 0.6)),
    )),
}


@pytest.mark.parametrize("library", EXPORT_FORMATS)
def test_a_policy_of_sub_policies_draws_as_autoaug_does(library: str, digits: list[Image]) -> None:
    """Sub-policy picks, step probabilities and signs: the export and autoaug's own transform, same outcomes."""
    policy = POLICIES[library]
    image = digits[1]
    expected = outcomes(1, [list(sub) for sub in policy.sub_policies], image)
    assert len(expected) >= 8
    check_distribution(build(policy, library), expected, image, TOLERANCE[library], draws=500)
    check_distribution(PolicyTransform(policy, torch.Generator().manual_seed(0)), expected, image, 0, draws=500)


@pytest.mark.parametrize("library", EXPORT_FORMATS)
def test_a_rand_policy_draws_its_ops_with_replacement(library: str, digits: list[Image]) -> None:
    signed = "brightness" if library == "timm" else "rotate"
    policy = Policy("rand", ops=("identity", "invert", signed), num_ops=2, magnitude=0.5)
    image = digits[0]
    expected = outcomes(2, [[OpSpec(name, 1.0, 0.5)] for name in policy.ops], image)
    check_distribution(build(policy, library), expected, image, TOLERANCE[library], draws=400)


@pytest.mark.parametrize("name", ["trivial_augment_wide", "rand_augment", "auto_augment"])
def test_a_stock_baseline_exports_to_torchvision_with_the_same_draws(name: str, digits: list[Image]) -> None:
    """torchvision's own transform, drawing from the global generator as autoaug's does: identical outputs."""
    policy = baseline_policies()[name]
    exported, ours = build(policy, "torchvision"), PolicyTransform(policy)
    for seed in range(20):
        torch.manual_seed(seed)
        expected = ours(digits[1])
        torch.manual_seed(seed)
        assert torch.equal(exported(digits[1]), expected)


def _statistics(outputs: list[Image], image: Image) -> dict[str, list[float]]:
    """Per output: its mean, its mean change from the input, and the mean of its top-left quarter."""
    return {
        "mean": [float(output.float().mean()) for output in outputs],
        "change": [float((output.float() - image.float()).abs().mean()) for output in outputs],
        "top_left": [float(output[:, :16, :16].float().mean()) for output in outputs],
    }


def check_same_distribution(ours: list[float], theirs: list[float], shift: float) -> None:
    """Each quantile of one sample lies within the other's quantiles ``slack`` away, widened by ``shift``: a
    two-sample Kolmogorov-Smirnov test (slack: its critical value at level 0.001) that lets values move by the
    libraries' rounding (``shift``; a plain test would tell a constant 23.05 from 23.25)."""
    a, b = np.sort(ours), np.sort(theirs)
    slack = int(np.ceil(1.95 * (2 / len(a)) ** 0.5 * len(a)))
    for first, second in ((a, b), (b, a)):
        for i, value in enumerate(first):
            low, high = second[max(0, i - slack)], second[min(len(second) - 1, i + slack)]
            assert low - shift <= value <= high + shift, f"quantile {i / len(first):.3f}: {value} outside [{low}, {high}]"


@pytest.mark.parametrize("library", EXPORT_FORMATS)
def test_a_trivial_policy_draws_its_magnitudes_as_autoaug_does(library: str, digits: list[Image]) -> None:
    """A magnitude drawn per image has no finite set of outcomes: compare the distributions of three statistics
    of 400 outputs per op, from the export and from autoaug's transform (seeded, so deterministic)."""
    image = digits[1]
    for op, row in mapping_table(BUILTIN_OPS).items():
        if row[library] not in ("yes", "drawn m"):
            continue
        policy = Policy("trivial", ops=(op,))
        apply, ours = build(policy, library), PolicyTransform(policy, torch.Generator().manual_seed(0))
        exported = _statistics([apply(image) for _ in range(400)], image)
        expected = _statistics([ours(image) for _ in range(400)], image)
        for name in exported:
            check_same_distribution(expected[name], exported[name], shift=WIDER.get((library, op), TOLERANCE[library]))


@pytest.mark.parametrize("library", EXPORT_FORMATS)
def test_no_augmentation_exports_as_the_identity(library: str, digits: list[Image]) -> None:
    assert torch.equal(build(Policy("none"), library)(digits[1]), digits[1])


def test_an_unmappable_op_is_refused_with_the_formats_that_take_it() -> None:
    policy = Policy("subpolicies", sub_policies=((OpSpec("shear_x", 0.5, 0.4), OpSpec("elastic", 1.0, 0.3)),
                                                 (OpSpec("rotate", 1.0, 0.2),)))
    with pytest.raises(ExportError) as error:
        library_source(policy, "kornia")
    message = str(error.value)
    assert "cannot export the policy to kornia exactly" in message
    assert "shear_x at value +-0.12: kornia shears about the image centre" in message
    assert "formats that take it: torchvision\n" in message
    assert "elastic at value 0.03" in message and "no --format takes it" in message
    assert "rotate" not in message  # it maps
    assert "without --format" in message


def test_a_drawn_magnitude_is_refused_where_the_library_draws_otherwise() -> None:
    with pytest.raises(ExportError) as error:
        library_source(Policy("trivial", ops=("rotate", "translate_x", "gamma")), "kornia")
    assert str(error.value).splitlines()[1:3] == [
        "  - translate_x at a uniformly drawn magnitude: kornia shifts by fractions of a pixel with interpolation, "
        "autoaug by whole pixels; formats that take it: torchvision",
        "  - gamma at a uniformly drawn magnitude: RandomGamma draws gamma uniformly, autoaug its logarithm; "
        "no --format takes it",
    ]
    assert "translate=(0.45, 0.0)" in library_source(Policy("trivial", ops=("rotate", "translate_x")), "torchvision")


def test_a_stacked_policy_exports_its_baseline_then_its_steps(digits: list[Image]) -> None:
    policy = Policy("stacked", transform="TrivialAugmentWide", sub_policies=((OpSpec("invert", 0.5, 0.0),),))
    source = library_source(policy, "torchvision")
    assert source.index("v2.TrivialAugmentWide()") < source.index("v2.RandomInvert(p=1.0)")
    assert build(policy, "torchvision")(digits[0]).shape == digits[0].shape
    with pytest.raises(ExportError) as error:
        library_source(policy, "kornia")
    assert str(error.value).count("\n  - ") == 1 and "the stock transform TrivialAugmentWide" in str(error.value)


@pytest.mark.parametrize("library", ["timm", "albumentations", "kornia"])
def test_a_stock_transform_is_refused_outside_torchvision(library: str) -> None:
    with pytest.raises(ExportError, match="the stock transform RandAugment: .*; formats that take it: torchvision\n"):
        library_source(baseline_policies()["rand_augment"], library)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ExportError, match="--format: expected one of torchvision, timm, albumentations, kornia"):
        library_source(Policy("none"), "keras")


@pytest.mark.parametrize("library", EXPORT_FORMATS)
def test_an_export_imports_its_library_and_never_autoaug(library: str) -> None:
    tree = ast.parse(library_source(POLICIES[library], library))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [module for module in modules if module and module.startswith("autoaug")]
    assert any(module.startswith({"albumentations": "albumentations", "kornia": "kornia"}.get(library, library))
               for module in modules if module)


def test_the_readme_mapping_table_is_the_code_s() -> None:
    header = "| op | " + " | ".join(EXPORT_FORMATS) + " |\n|---|---|---|---|---|\n"
    table = (ROOT / "docs" / "interop.md").read_text().split(header, 1)[1].split("\n\n", 1)[0]
    readme = {}
    for line in table.splitlines():
        op, *cells = (cell.strip(" `") for cell in line.strip("|").split("|"))
        readme[op] = dict(zip(EXPORT_FORMATS, cells, strict=True))
    assert readme == mapping_table(BUILTIN_OPS)
    assert list(LIBRARIES) == list(EXPORT_FORMATS)
