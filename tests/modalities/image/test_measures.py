"""Diversity and relevance measures on cases whose answer is known."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autoaug.config import Recipe
from autoaug.errors import MeasureError
from autoaug.measures import affinity, diversity, feature_diversity, mmd, screen_score, total_variance
from autoaug.modalities.image import (
    PolicyMeter,
    PolicyTransform,
    PretrainedWeights,
    Reference,
    build_model,
    finetune,
    fit_reference,
    load_reference,
    reference_key,
    resolve_weights,
    save_reference,
)
from autoaug.modalities.image.data import TransferTask
from autoaug.policy import OpSpec, Policy
from synthetic import COLOURS, colour_task

RECIPE = Recipe(epochs=3, batch_size=32, lr=3e-3, seed=0, device="cpu", threads=1)
IDENTITY = Policy("subpolicies", sub_policies=((OpSpec("identity", 1.0, 0.5),),))


def _blank(image: torch.Tensor) -> torch.Tensor:
    """Destroys the image: every pixel mid-grey."""
    return torch.full_like(image, 128)


def _noisy(image: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(image.sum()))
    noise = torch.randint(-25, 26, image.shape, generator=generator)
    return (image.int() + noise).clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def task() -> TransferTask:
    return colour_task()


@pytest.fixture(scope="module")
def weights() -> PretrainedWeights:
    return resolve_weights("test_resnet", "none")


@pytest.fixture(scope="module")
def reference(task: TransferTask, weights: PretrainedWeights) -> Reference:
    return fit_reference(task, weights, RECIPE)


@pytest.fixture(scope="module")
def meter(reference: Reference, task: TransferTask, weights: PretrainedWeights) -> PolicyMeter:
    return PolicyMeter(reference, task, weights, "cpu")


def test_the_reference_learns_the_task(reference: Reference, task: TransferTask) -> None:
    assert reference.clean_accuracy >= 0.9
    assert len(reference.epochs) == RECIPE.epochs and reference.bandwidth > 0
    assert sorted(reference.val_sample.tolist()) == list(range(len(task.val)))  # small sets are scored whole
    assert reference.val_sample_accuracy == pytest.approx(reference.clean_accuracy)


def test_identity_policy_has_affinity_1_and_diversity_1(
    meter: PolicyMeter, reference: Reference, task: TransferTask, weights: PretrainedWeights
) -> None:
    measures = meter.measure_policy(IDENTITY, seed=0)
    assert measures["affinity"] == pytest.approx(1.0, abs=1e-9)
    assert measures["feature_diversity"] == pytest.approx(1.0, abs=1e-9)
    assert measures["reference_loss_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert measures["screen_score"] == pytest.approx(0.0, abs=1e-6)
    model = build_model(weights, task.num_classes, seed=RECIPE.seed)
    results = finetune(model, task.train, RECIPE, weights.mean, weights.std, augment=PolicyTransform(IDENTITY))
    assert diversity(results[-1].train_loss, reference.train_loss(RECIPE.epochs)) == pytest.approx(1.0, abs=1e-3)


def test_a_destroying_policy_has_affinity_near_chance(meter: PolicyMeter, reference: Reference) -> None:
    measures = meter.measure(_blank)
    chance = 1 / len(COLOURS)
    assert measures["affinity"] * reference.val_sample_accuracy == pytest.approx(chance, abs=0.05)
    assert measures["affinity"] < 0.5
    assert measures["feature_diversity"] < 1e-6  # every image looks the same


def test_feature_relevance_is_smallest_for_identity_and_grows_with_damage(meter: PolicyMeter) -> None:
    identity, noisy, blank = (meter.measure(augment)["feature_relevance"] for augment in (lambda x: x, _noisy, _blank))
    assert identity < noisy < blank


def test_measures_repeat_with_the_same_seed(meter: PolicyMeter) -> None:
    policy = Policy("trivial", ops=("rotate", "gaussian_noise", "invert"))
    assert meter.measure_policy(policy, seed=3) == meter.measure_policy(policy, seed=3)


def test_mmd_and_spread_of_known_samples() -> None:
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    assert mmd(x, x, bandwidth=1.0) == 0.0
    assert mmd(x, x + 3, bandwidth=1.0) > mmd(x, x + 0.3, bandwidth=1.0) > 0
    assert total_variance(x * 2) == pytest.approx(4 * total_variance(x))
    assert feature_diversity(x * 2, x) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: affinity(0.5, 0.0), "affinity is undefined"),
        (lambda: diversity(0.5, 0.0), "diversity is undefined"),
        (lambda: feature_diversity(torch.ones(3, 2), torch.ones(3, 2)), "feature_diversity is undefined"),
        (lambda: mmd(torch.ones(3, 2), torch.ones(3, 2), 0.0), "bandwidth must be positive"),
        (lambda: mmd(torch.ones(3, 2), torch.ones(3, 4), 1.0), "same D"),
        (lambda: screen_score(1.0, 0.0), "loss ratio must be positive"),
    ],
)
def test_undefined_measures_raise_a_clear_error(call: object, message: str) -> None:
    with pytest.raises(MeasureError, match=message):
        call()  # type: ignore[operator]


def test_the_cache_round_trips_and_is_keyed_by_what_determines_the_reference(
    reference: Reference, task: TransferTask, weights: PretrainedWeights, tmp_path: Path
) -> None:
    path = tmp_path / "reference.pt"
    save_reference(reference, path)
    loaded = load_reference(path, reference.key)
    assert loaded is not None and loaded.epochs == reference.epochs
    assert torch.equal(loaded.val_features, reference.val_features)
    assert reference.key == reference_key(task, weights, RECIPE)
    other_seed = Recipe(**{**RECIPE.__dict__, "seed": 1})
    assert reference_key(task, weights, other_seed) != reference.key
    assert load_reference(path, reference_key(task, weights, other_seed)) is None
    # The data workers do not change what a fine-tune gives, so neither the key.
    assert reference_key(task, weights, Recipe(**{**RECIPE.__dict__, "workers": 2})) == reference.key
    path.write_bytes(b"not a reference")
    assert load_reference(path, reference.key) is None
