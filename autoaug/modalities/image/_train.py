"""Fine-tuning and scoring of image classifiers on in-memory image sets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from autoaug.config import Recipe
from autoaug.errors import DataError
from autoaug.metrics import classification_metrics
from autoaug.modalities._base import EpochResult, OnEpoch
from autoaug.modalities.image._loader import AugmentedBatches, resolve_workers, single_threaded, training_batches
from autoaug.modalities.image.data import ImageSet, TransferTask

__all__ = [
    "augment_images",
    "features_head",
    "finetune",
    "finetune_and_test",
    "infer",
    "logits_head",
    "predict",
    "resolve_device",
    "score",
    "use_threads",
]

Augment = Callable[[torch.Tensor], torch.Tensor]
_Stats = Sequence[float]


def resolve_device(device: str) -> torch.device:
    """``"auto"`` becomes CUDA when available, else CPU; other names pass through ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def use_threads(recipe: Recipe) -> None:
    """Give torch the recipe's intra-op threads (when it names a number)."""
    if recipe.threads is not None:
        torch.set_num_threads(recipe.threads)


def augment_images(images: torch.Tensor, augment: Augment | None) -> torch.Tensor:
    """``augment`` applied to each uint8 image of ``images`` [N, 3, H, W] in turn, single-threaded."""
    if augment is None:
        return images
    with single_threaded():
        return torch.stack([augment(image) for image in images])


def _to_input(images: torch.Tensor, mean: _Stats, std: _Stats, device: torch.device) -> torch.Tensor:
    """uint8 [B, 3, H, W] on the CPU -> normalised float on ``device``."""
    if device.type == "cuda" and not images.is_pinned():
        images = images.pin_memory()
    x = images.to(device, non_blocking=True).float().div_(255)
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    return (x - mean_t) / std_t


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[None]:
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


Head = Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]


def logits_head(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's class scores."""
    return model(x)


def features_head(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled pre-logit features of a timm model (what its classifier sees)."""
    return model.forward_head(model.forward_features(x), pre_logits=True)


@torch.inference_mode()
def infer(
    model: torch.nn.Module,
    images: torch.Tensor,
    mean: _Stats,
    std: _Stats,
    device: str = "auto",
    batch_size: int = 256,
    *,
    augment: Augment | None = None,
    head: Head = logits_head,
) -> torch.Tensor:
    """``head(model, inputs)`` for uint8 ``images`` [N, 3, H, W], batched, in eval mode; float32 on the CPU.

    ``augment``, when given, is applied to each image first (drawing from the global torch RNG unless
    it holds its own generator).
    """
    target = resolve_device(device)
    model.to(target).eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = augment_images(images[start : start + batch_size], augment)
        with _autocast(target):
            outputs.append(head(model, _to_input(batch, mean, std, target)).float().cpu())
    return torch.cat(outputs)


def predict(
    model: torch.nn.Module,
    data: ImageSet,
    mean: _Stats,
    std: _Stats,
    device: str = "auto",
    batch_size: int = 256,
    *,
    augment: Augment | None = None,
) -> torch.Tensor:
    """Predicted class indices (on the CPU) for every image of ``data``, in eval mode.

    ``augment``, when given, is applied to each image first (drawing from the global torch RNG).
    """
    return infer(model, data.images, mean, std, device, batch_size, augment=augment).argmax(dim=1)


def score(
    model: torch.nn.Module,
    data: ImageSet,
    mean: _Stats,
    std: _Stats,
    *,
    class_names: Sequence[str],
    device: str = "auto",
    batch_size: int = 256,
    augment: Augment | None = None,
) -> dict[str, float]:
    """Scores ``model`` on ``data`` (clean, or augmented per image when ``augment`` is given).

    Returns:
        ``classification_metrics`` of the predictions.

    Example:
        >>> score(model, task.val, weights.mean, weights.std, class_names=task.class_names)  # doctest: +SKIP
    """
    predictions = predict(model, data, mean, std, device, batch_size, augment=augment)
    return classification_metrics(data.labels, predictions, class_names)


def _num_batches(size: int, batch_size: int) -> int:
    # BatchNorm cannot train on a last batch of one image with 1x1 features: it waits for the next epoch.
    full, rest = divmod(size, batch_size)
    return full + (rest > 1)


def finetune(
    model: torch.nn.Module,
    train: ImageSet,
    recipe: Recipe,
    mean: _Stats,
    std: _Stats,
    *,
    augment: Augment | None = None,
    val: ImageSet | None = None,
    class_names: Sequence[str] | None = None,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> list[EpochResult]:
    """Fine-tunes all of ``model`` on ``train`` with AdamW at a constant learning rate.

    Each batch is augmented image by image on the CPU (uint8, before normalisation) by
    ``recipe.workers`` DataLoader worker processes (None: :func:`resolve_workers`'s default; 0: the
    training thread), then moved to the device; on CUDA the steps run under bf16 autocast. Each image's
    draws are seeded from ``(recipe.seed, epoch, index)``, the shuffling and dropout from
    ``recipe.seed``, so on the CPU the same seed gives the same result whatever the number of workers.

    Args:
        model: Model to train in place; it is moved to the recipe's device.
        train: Training images.
        recipe: Optimisation settings.
        mean: Per-channel input mean (inputs scaled to [0, 1]).
        std: Per-channel input standard deviation.
        augment: Transform of one uint8 [3, H, W] image to another of the same shape, drawing from torch's
            global generator; with workers it runs in their processes.
        val: Data scored after every epoch.
        class_names: Class names for the validation metrics; default ``"0"``, ``"1"``, ...
        on_epoch: Called with each epoch's result as soon as it is known.

    Returns:
        One result per epoch; its ``seconds_augment`` is the time the training thread waited for batches.

    Raises:
        DataError: If ``train`` has fewer than two images.

    Example:
        >>> results = finetune(model, task.train, Recipe(epochs=1), w.mean, w.std, val=task.val)  # doctest: +SKIP
    """
    if len(train) < 2:
        raise DataError(f"fine-tuning needs at least 2 training images, got {len(train)}")
    use_threads(recipe)
    device = resolve_device(recipe.device)
    if class_names is None:
        top = max(int(labelled.labels.max()) for labelled in (train, val) if labelled is not None)
        class_names = [str(i) for i in range(top + 1)]
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    num_batches = _num_batches(len(train), recipe.batch_size)
    workers = 0 if augment is None else resolve_workers(recipe.workers, num_batches)
    dataset = AugmentedBatches(train, augment, recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)

    results = []
    for epoch in range(1, recipe.epochs + 1):
        # Dropout draws from the global RNG: seed it per epoch from the recipe seed.
        torch.manual_seed(int(torch.randint(2**62, (), generator=generator)))
        order = torch.randperm(len(train), generator=generator).split(recipe.batch_size)[:num_batches]
        model.train()
        loss_sum = torch.zeros((), device=device)
        seconds_augment = 0.0
        started = time.perf_counter()
        waiting = time.perf_counter()
        for images, labels in training_batches(
            dataset, epoch, order, workers=workers, pin_memory=device.type == "cuda"
        ):
            seconds_augment += time.perf_counter() - waiting
            x = _to_input(images, mean, std, device)
            y = labels.to(device, non_blocking=True)
            with _autocast(device):
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(labels)
            waiting = time.perf_counter()
        train_loss = float(loss_sum) / sum(len(indices) for indices in order)  # waits for the device
        seconds_train = time.perf_counter() - started - seconds_augment

        started = time.perf_counter()
        metrics = {} if val is None else score(model, val, mean, std, class_names=class_names, device=str(device))
        result = EpochResult(epoch, train_loss, metrics, seconds_train, seconds_augment, time.perf_counter() - started)
        results.append(result)
        if on_epoch is not None:
            on_epoch(result)
    return results


def finetune_and_test(
    model: torch.nn.Module,
    task: TransferTask,
    recipe: Recipe,
    mean: _Stats,
    std: _Stats,
    *,
    augment: Augment | None = None,
    on_epoch: OnEpoch | None = None,
) -> tuple[list[EpochResult], dict[str, float]]:
    """Fine-tunes ``model`` on ``task.train`` (scoring ``task.val`` every epoch), then scores ``task.test`` once.

    The held-out test split is scored after the last epoch and handed to ``on_epoch`` together with
    that epoch's result (``None`` for the earlier epochs), so a caller that reports per epoch can
    report it in the same breath.

    Returns:
        The epoch results and the test split's ``classification_metrics``.

    Example:
        >>> epochs, test = finetune_and_test(model, task, Recipe(epochs=1), w.mean, w.std)  # doctest: +SKIP
    """
    test: dict[str, float] = {}

    def finish_epoch(result: EpochResult) -> None:
        last = result.epoch == recipe.epochs
        if last:
            test.update(score(model, task.test, mean, std, class_names=task.class_names, device=recipe.device))
        if on_epoch is not None:
            on_epoch(result, test if last else None)

    epochs = finetune(
        model, task.train, recipe, mean, std, augment=augment, val=task.val, class_names=task.class_names,
        on_epoch=finish_epoch,
    )
    return epochs, test
