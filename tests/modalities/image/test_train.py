from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torchvision.transforms import v2

from autoaug.config import Recipe
from autoaug.errors import ConfigError, DataError
from autoaug.modalities import EpochResult
from autoaug.modalities.image import build_model, finetune, finetune_and_test, predict, resolve_weights, score
from autoaug.modalities.image.data import ImageSet
from synthetic import COLOURS, colour_task, coloured

CLASS_NAMES = COLOURS


@pytest.fixture(scope="module")
def train() -> ImageSet:
    return coloured(90, seed=0)


@pytest.fixture(scope="module")
def val() -> ImageSet:
    return coloured(60, seed=1)


def _recorder(seen: list[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """An augmentation that keeps every image it is given and returns it unchanged."""

    def augment(image: torch.Tensor) -> torch.Tensor:
        seen.append(image)
        return image

    return augment


def _finetune(
    train: ImageSet, val: ImageSet | None, *, seed: int = 0, epochs: int = 2, **kwargs: object
) -> tuple[torch.nn.Module, list[EpochResult]]:
    weights = resolve_weights("test_resnet", "none")
    model = build_model(weights, len(CLASS_NAMES))
    # On the training thread: the recorders below keep what they are given in this process.
    recipe = Recipe(epochs=epochs, batch_size=32, lr=3e-3, seed=seed, device="cpu", workers=0)
    results = finetune(
        model,
        train,
        recipe,
        weights.mean,
        weights.std,
        val=val,
        class_names=CLASS_NAMES,
        **kwargs,  # type: ignore[arg-type]
    )
    return model, results


def test_training_learns_a_learnable_task(train: ImageSet, val: ImageSet) -> None:
    weights = resolve_weights("test_resnet", "none")
    before = score(build_model(weights, 3), val, weights.mean, weights.std, class_names=CLASS_NAMES)
    _, results = _finetune(train, val, epochs=4)
    assert results[-1].metrics["accuracy"] >= 0.9 > before["accuracy"]
    assert results[-1].train_loss < results[0].train_loss
    assert set(results[-1].metrics) >= {"accuracy", "macro_f1", "class_acc/red"}


def test_same_seed_same_result_including_augmentation(train: ImageSet, val: ImageSet) -> None:
    augment = v2.TrivialAugmentWide()
    runs = [_finetune(train, val, seed=seed, augment=augment)[1] for seed in (0, 0, 1)]
    same, again, other = ([(r.train_loss, r.metrics) for r in results] for results in runs)
    assert same == again
    assert same != other


def test_augment_is_called_once_per_image_and_epoch(train: ImageSet) -> None:
    seen: list[torch.Tensor] = []
    _, results = _finetune(train, None, epochs=2, augment=_recorder(seen))
    assert len(seen) == 2 * len(train)
    assert all(image.shape == (3, 16, 16) and image.dtype == torch.uint8 for image in seen)
    assert [r.epoch for r in results] == [1, 2]
    assert all(r.metrics == {} and r.seconds_augment > 0 and r.seconds_train > 0 for r in results)


def test_on_epoch_reports_each_epoch_as_it_ends(train: ImageSet, val: ImageSet) -> None:
    reported: list[EpochResult] = []
    _, results = _finetune(train, val, epochs=2, on_epoch=reported.append)
    assert reported == results
    assert all(r.seconds_eval > 0 and 0 <= r.metrics["accuracy"] <= 1 for r in results)


def test_a_lone_last_image_waits_for_the_next_epoch() -> None:
    seen: list[torch.Tensor] = []
    _finetune(coloured(33, seed=2), None, epochs=1, augment=_recorder(seen))
    assert len(seen) == 32  # BatchNorm cannot train on one image with 1x1 features


def test_evaluate_on_augmented_data(train: ImageSet, val: ImageSet) -> None:
    model, _ = _finetune(train, None, epochs=3)
    calls: list[int] = []

    def blank(image: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return torch.full_like(image, 128)

    clean = predict(model, val, (0.5,) * 3, (0.5,) * 3, "cpu", 16)
    blanked = predict(model, val, (0.5,) * 3, (0.5,) * 3, "cpu", 16, augment=blank)
    assert len(calls) == len(val)
    assert clean.shape == blanked.shape == val.labels.shape
    assert blanked.unique().numel() == 1  # every image looks the same to the model
    assert clean.unique().numel() > 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"epochs": 0}, "epochs must be at least 1"), ({"threads": 0}, "threads"), ({"lr": 0.0}, "lr > 0"),
     ({"workers": -1}, "workers must be at least 0")],
)
def test_recipe_validation(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Recipe(**kwargs)  # type: ignore[arg-type]


def test_finetune_needs_two_images(train: ImageSet) -> None:
    with pytest.raises(DataError, match="at least 2 training images"):
        _finetune(train.subset([0]), None)


def test_finetune_and_test_scores_the_test_split_once_with_the_last_epoch() -> None:
    task = colour_task()
    weights = resolve_weights("test_resnet", "none")
    model = build_model(weights, task.num_classes)
    seen: list[tuple[int, dict[str, float] | None]] = []
    epochs, test = finetune_and_test(
        model, task, Recipe(epochs=2, batch_size=32, seed=0, device="cpu"), weights.mean, weights.std,
        on_epoch=lambda result, scores: seen.append((result.epoch, scores)),
    )
    assert [epoch for epoch, _ in seen] == [1, 2] and [result.epoch for result in epochs] == [1, 2]
    assert seen[0][1] is None and seen[1][1] == test
    assert test == score(model, task.test, weights.mean, weights.std, class_names=task.class_names)
    assert epochs[-1].metrics == score(model, task.val, weights.mean, weights.std, class_names=task.class_names)

