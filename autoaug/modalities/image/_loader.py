"""The training batches: augmented in DataLoader worker processes, each image from its own seed.

Each image's draws come from ``(seed, epoch, index)`` alone, never from a worker's RNG state, so the
batches are the same whichever number of workers makes them (0: the training thread itself).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from autoaug.modalities.image.data import ImageSet

__all__ = [
    "AugmentedBatches",
    "available_cpus",
    "resolve_workers",
    "sample_seeds",
    "single_threaded",
    "training_batches",
]

Augment = Callable[[torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]
MIN_BATCHES_FOR_WORKERS = 4
"""Epochs of fewer batches augment on the training thread by default: workers would barely start."""
MAX_DEFAULT_WORKERS = 4


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block on one intra-op thread, then restore the count."""
    # Per-image transforms on tiny tensors get slower, not faster, with several intra-op threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def sample_seeds(seed: int, epoch: int, indices: Sequence[int]) -> list[int]:
    """The seed of each image's draws, from ``(seed, epoch, index)`` alone.

    NumPy's ``SeedSequence`` mixes ``(seed, epoch)`` once; SplitMix64 then mixes in each index
    (vectorised: a ``SeedSequence`` per image would cost more than a small image's augmentation).

    Example:
        >>> sample_seeds(0, 1, [5, 6])[0] == sample_seeds(0, 1, [4, 5])[1] != sample_seeds(0, 2, [5])[0]
        True
    """
    base = np.random.SeedSequence([seed % 2**64, epoch]).generate_state(1, np.uint64)[0]
    mixed = base + (np.asarray(indices, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (mixed ^ (mixed >> np.uint64(31))).tolist()


class AugmentedBatches(Dataset[Batch]):
    """Batches of ``data`` keyed by ``(epoch, indices)``: the uint8 images [B, 3, H, W], augmented, and the labels.

    ``augment`` draws from torch's global generator, which is seeded with :func:`sample_seeds` before
    each image and restored afterwards.

    Example:
        >>> batches = AugmentedBatches(data, PolicyTransform(policy), seed=0)  # doctest: +SKIP
        >>> images, labels = batches[1, torch.tensor([3, 1, 4])]  # doctest: +SKIP
    """

    def __init__(self, data: ImageSet, augment: Augment | None, seed: int) -> None:
        self._data = data
        self._augment = augment
        self._seed = seed

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key: tuple[int, torch.Tensor]) -> Batch:
        epoch, indices = key
        images = self._data.images[indices]
        if self._augment is not None:
            images = self._augmented(epoch, indices.tolist(), images)
        return images, self._data.labels[indices]

    def _augmented(self, epoch: int, indices: Sequence[int], images: torch.Tensor) -> torch.Tensor:
        with single_threaded(), torch.random.fork_rng(devices=[]):
            augmented = []
            for image_seed, image in zip(sample_seeds(self._seed, epoch, indices), images, strict=True):
                torch.default_generator.manual_seed(image_seed)
                augmented.append(self._augment(image))  # type: ignore[misc]
        return torch.stack(augmented)


def available_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_workers(workers: int | None, num_batches: int) -> int:
    """``workers`` when given, else the default: 0 for fewer than 4 batches or 2 CPUs or fewer, else min(4, CPUs - 1).

    Example:
        >>> resolve_workers(None, 1), resolve_workers(3, 1)
        (0, 3)
    """
    if workers is not None:
        return workers
    cpus = available_cpus()
    if cpus <= 2 or num_batches < MIN_BATCHES_FOR_WORKERS:
        return 0
    return min(MAX_DEFAULT_WORKERS, cpus - 1)


def _start_method(workers: int) -> multiprocessing.context.BaseContext | None:
    # Fork shares the images and the (maybe unpicklable) augmentation with the workers at no cost, and
    # works inside Ray's trial processes; elsewhere the platform's default (spawn) needs both picklable.
    if workers == 0 or sys.platform != "linux":
        return None
    return multiprocessing.get_context("fork")


def training_batches(
    batches: AugmentedBatches, epoch: int, indices: Iterable[torch.Tensor], *, workers: int, pin_memory: bool = False
) -> DataLoader[Batch]:
    """The batches of one epoch, in the order of ``indices``, made by ``workers`` processes (0: this thread).

    Example:
        >>> for images, labels in training_batches(batches, 1, order.split(64), workers=2):  # doctest: +SKIP
        ...     train_step(images, labels)
    """
    return DataLoader(
        batches,
        batch_size=None,  # the dataset makes whole batches: one round trip per batch
        sampler=[(epoch, batch) for batch in indices],
        num_workers=workers,
        pin_memory=pin_memory,
        multiprocessing_context=_start_method(workers),
        generator=torch.Generator().manual_seed(0),  # the workers' own seeds; leaves the global generator alone
    )
