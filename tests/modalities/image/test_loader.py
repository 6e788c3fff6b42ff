"""The training batches: made in DataLoader workers, the same whatever their number, reproducible from the seed."""

from __future__ import annotations

import pytest
import torch

from autoaug.config import Recipe
from autoaug.errors import PolicyError
from autoaug.modalities.image import PolicyTransform, build_model, finetune, resolve_weights
from autoaug.modalities.image._loader import (
    AugmentedBatches,
    available_cpus,
    resolve_workers,
    training_batches,
)
from autoaug.modalities.image.data import ImageSet, TransferTask, load_digits_task
from autoaug.ops import _registry, register_op
from autoaug.policy import OpSpec, Policy

POLICY = Policy(
    "subpolicies",
    sub_policies=((OpSpec("rotate", 0.8, 0.6), OpSpec("downscale", 0.7, 0.8), OpSpec("gaussian_noise", 0.5, 0.4)),),
)


@pytest.fixture(scope="module")
def digits() -> TransferTask:
    return load_digits_task(image_size=32, train_size=120, seed=0)


def _epoch(data: ImageSet, *, seed: int, epoch: int = 1, workers: int, augment: object = None) -> list[torch.Tensor]:
    """Every image of one epoch, in batches of 16 in a fixed order, made by ``workers`` processes."""
    batches = AugmentedBatches(data, augment or PolicyTransform(POLICY), seed)  # type: ignore[arg-type]
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).split(16)
    made = list(training_batches(batches, epoch, order, workers=workers))
    assert all(torch.equal(labels, data.labels[indices]) for (_, labels), indices in zip(made, order, strict=True))
    return [images for images, _ in made]


def _same(first: list[torch.Tensor], second: list[torch.Tensor]) -> bool:
    return len(first) == len(second) and all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_same_seed_same_batches_with_no_workers_and_with_two(digits: TransferTask) -> None:
    on_thread = _epoch(digits.train, seed=3, workers=0)
    assert _same(on_thread, _epoch(digits.train, seed=3, workers=2))
    assert not torch.equal(torch.cat(on_thread), digits.train.images[torch.cat(
        list(torch.randperm(len(digits.train), generator=torch.Generator().manual_seed(0)).split(16))
    )])  # the policy did change the images


def test_other_seed_or_epoch_other_batches(digits: TransferTask) -> None:
    first = _epoch(digits.train, seed=3, workers=0)
    assert not _same(first, _epoch(digits.train, seed=4, workers=0))
    assert not _same(first, _epoch(digits.train, seed=3, epoch=2, workers=0))


def test_a_stock_transform_is_reproduced_by_workers_too(digits: TransferTask) -> None:
    trivial = PolicyTransform(Policy("torchvision", transform="TrivialAugmentWide"))
    assert _same(_epoch(digits.train, seed=0, workers=0, augment=trivial),
                 _epoch(digits.train, seed=0, workers=2, augment=trivial))


def test_the_training_thread_keeps_its_random_stream(digits: TransferTask) -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    _epoch(digits.train, seed=0, workers=0)
    assert torch.equal(torch.rand(3), expected)  # dropout's draws do not depend on the augmentation


def test_a_fine_tune_gives_the_same_result_with_no_workers_and_with_two(digits: TransferTask) -> None:
    weights = resolve_weights("test_resnet", "none")
    results = []
    for workers in (0, 2):
        model = build_model(weights, digits.num_classes, seed=0)
        recipe = Recipe(epochs=2, batch_size=32, seed=0, device="cpu", workers=workers)
        epochs = finetune(model, digits.train, recipe, weights.mean, weights.std, augment=PolicyTransform(POLICY),
                          val=digits.val.subset(list(range(100))), class_names=digits.class_names)
        results.append([(epoch.train_loss, epoch.metrics) for epoch in epochs])
    assert results[0] == results[1]


def test_an_op_failing_in_a_worker_raises_its_error_in_the_training_process(
    digits: TransferTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))

    def refuse(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
        raise PolicyError("refuse: this op always fails")

    register_op("refuse_for_test", low=0.0, high=1.0)(refuse)
    failing = PolicyTransform(Policy("subpolicies", sub_policies=((OpSpec("refuse_for_test", 1.0, 0.5),),)))
    with pytest.raises(PolicyError, match="refuse: this op always fails"):
        _epoch(digits.train, seed=0, workers=2, augment=failing)


def test_default_workers_follow_the_cpus_and_the_data() -> None:
    assert resolve_workers(0, 100) == 0 and resolve_workers(3, 1) == 3
    assert resolve_workers(None, 3) == 0  # too few batches to start workers for
    cpus = available_cpus()
    assert resolve_workers(None, 100) == (0 if cpus <= 2 else min(4, cpus - 1))
