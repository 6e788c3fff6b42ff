"""Seeded, class-aware index selection: stratified splits and balanced subsets."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from autoaug.errors import DataError

__all__ = ["balanced_subset", "few_shot_split", "stratified_split"]


def _shuffled_by_class(labels: torch.Tensor, num_classes: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    by_class = []
    for c in range(num_classes):
        members = torch.nonzero(labels == c).flatten()
        by_class.append(members[torch.randperm(len(members), generator=generator)])
    return by_class


def balanced_subset(labels: torch.Tensor, size: int, num_classes: int, seed: int) -> torch.Tensor:
    """Picks ``size`` indices spread over the classes as evenly as their sizes allow.

    Classes are filled round-robin, so a class smaller than its share gives its place to the others.

    Returns:
        The chosen indices in ascending order.
    """
    by_class = _shuffled_by_class(labels, num_classes, seed)
    ranks = torch.cat([torch.arange(len(members)) for members in by_class])
    order = torch.sort(ranks, stable=True).indices[:size]
    return torch.cat(by_class)[order].sort().values


def stratified_split(
    labels: torch.Tensor, fraction: float, class_names: Sequence[str], seed: int, source: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits indices class by class into a ``fraction`` part and the rest.

    Both parts get at least one item of every class.

    Args:
        labels: Class index of each item.
        fraction: Share of each class that goes to the first part, in (0, 1).
        class_names: Name of each class, for error messages.
        seed: Seed of the shuffle.
        source: Where the items come from, for error messages.

    Returns:
        The indices of the two parts, each in ascending order.

    Raises:
        DataError: If ``fraction`` is outside (0, 1) or a class has fewer than two items.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"val_fraction must lie strictly between 0 and 1, got {fraction}")
    first, second = [], []
    for name, members in zip(class_names, _shuffled_by_class(labels, len(class_names), seed), strict=True):
        if len(members) < 2:
            raise DataError(
                f"class {name!r} in {source} has {len(members)} usable image(s); at least 2 are "
                "needed to split it into validation and test: add images or pass a separate test folder"
            )
        cut = min(max(round(fraction * len(members)), 1), len(members) - 1)
        first.append(members[:cut])
        second.append(members[cut:])
    return torch.cat(first).sort().values, torch.cat(second).sort().values


def few_shot_split(
    labels: torch.Tensor, size: int, class_names: Sequence[str], seed: int, source: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Splits indices class by class into ``size`` training items, as many for validation, and the rest.

    The training part takes ``size // n`` items of each of the ``n`` classes, one more for the first
    ``size % n`` classes; each class gives validation as many items as it gave training.

    Args:
        labels: Class index of each item.
        size: Number of training items.
        class_names: Name of each class, for error messages.
        seed: Seed of the shuffle.
        source: Where the items come from, for error messages.

    Returns:
        The training, validation and test indices, each in ascending order.

    Raises:
        DataError: If a class has too few items to leave at least one for test.

    Example:
        >>> train, val, test = few_shot_split(torch.arange(20) % 2, 4, ("a", "b"), seed=0, source="toy")
        >>> len(train), len(val), len(test)
        (4, 4, 12)
    """
    parts: tuple[list[torch.Tensor], ...] = ([], [], [])
    by_class = _shuffled_by_class(labels, len(class_names), seed)
    for c, (name, members) in enumerate(zip(class_names, by_class, strict=True)):
        shots = size // len(class_names) + (c < size % len(class_names))
        if 2 * shots >= len(members):
            raise DataError(
                f"class {name!r} in {source} has {len(members)} images: too few for {shots} training and "
                f"{shots} validation images with some left for test; use a smaller train_size"
            )
        for part, chosen in zip(parts, (members[:shots], members[shots : 2 * shots], members[2 * shots :])):
            part.append(chosen)
    train, val, test = (torch.cat(part).sort().values for part in parts)
    return train, val, test
