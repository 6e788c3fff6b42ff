"""Image target matching: the chain of ops that moves training images towards the target images."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from autoaug.config import Recipe
from autoaug.modalities import TargetMatch, get_modality
from autoaug.modalities.image import fit_reference, resolve_weights
from autoaug.modalities.image._target_match import MIN_GAIN
from autoaug.modalities.image.data import ImageSet, TransferTask
from autoaug.policy import OpSpec, Policy
from synthetic import COLOURS, colour_task, coloured

RECIPE = Recipe(epochs=1, batch_size=32, lr=3e-3, seed=0, device="cpu", threads=1)
OPS = ("rotate", "invert", "gaussian_blur", "hflip")


def blurred(images: torch.Tensor) -> torch.Tensor:
    return F.gaussian_blur(images, [9, 9], [2.0, 2.0])


def blurred_target_task() -> TransferTask:
    """Noisy colour images to train on; the target holds the same kind of images, blurred (another camera)."""
    val, test = coloured(60, 1), coloured(30, 2)
    return TransferTask("blurred", COLOURS, coloured(96, 0), ImageSet(blurred(val.images), val.labels),
                        ImageSet(blurred(test.images), test.labels))


def find_match(task: TransferTask) -> TargetMatch:
    image = get_modality("image")
    weights = resolve_weights("test_resnet", "none")
    reference = fit_reference(task, weights, RECIPE)
    singles = image.measure_singles(reference, task, weights, RECIPE, OPS, (0.0, 1.0))
    return image.match_target(reference, task, weights, RECIPE, singles, 3)


def test_a_blurred_target_is_matched_by_blur_first() -> None:
    match = find_match(blurred_target_task())
    assert match.chain and match.chain[0][0] == "gaussian_blur"
    assert match.matched < match.clean - MIN_GAIN * (match.clean - match.floor) and 0 < match.gain < 1
    distances = [distance for _, _, distance in match.singles]
    assert distances == sorted(distances) and match.singles[0][0] == "gaussian_blur"
    assert {name for name, _, _ in match.singles} == set(OPS)
    assert len(match.singles) == 2 * 4 + 2  # four magnitudes for rotate and blur, one for hflip and invert


def test_an_in_domain_target_gets_no_chain() -> None:
    match = find_match(colour_task())
    assert match.chain == () and match.gain == 0.0 and match.matched == match.clean


def test_the_same_seed_gives_the_same_match() -> None:
    task = blurred_target_task()
    assert find_match(task) == find_match(task)


def test_a_match_is_a_policy_and_its_closest_ops_are_the_first_distinct_singles() -> None:
    match = TargetMatch((("gaussian_blur", 1.0), ("rotate", 0.5)), clean=0.8, floor=0.1, matched=0.4, singles=())
    assert match.policy(0.5).sub_policies[0] == (OpSpec("gaussian_blur", 0.5, 1.0), OpSpec("rotate", 0.5, 0.5))
    assert TargetMatch((), 0.8, 0.1, 0.8, ()).policy(0.5) == Policy("none")
    singles = tuple((name, 1.0, float(i)) for i, name in enumerate("abcadefgh"))
    assert TargetMatch((), 0.8, 0.1, 0.8, singles).closest_ops == ("a", "b", "c", "d", "e", "f")
