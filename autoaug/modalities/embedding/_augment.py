"""An embedding policy as a batch augmentation: ``x_aug, y_soft = aug(x, y)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from autoaug.errors import DataError, PolicyError
from autoaug.modalities._base import check_policy_modality
from autoaug.ops.embedding import MODALITY, Batch
from autoaug.policy import Policy, describe, plan


def as_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> Batch:
    """Check a batch and give its labels as soft labels [B, C].

    Args:
        x: Embeddings [B, D], floating point, finite.
        y: Class indices [B] or soft labels [B, C] whose rows sum to 1.
        num_classes: C for class indices (default: the largest index + 1).

    Raises:
        DataError: If a shape, dtype or value does not fit, naming it.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or not x.is_floating_point():
        kind = f"a {x.dtype} tensor of shape {list(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise DataError(f"x: expected floating-point embeddings of shape [batch, dim], got {kind}")
    if not isinstance(y, torch.Tensor) or len(y) != len(x) or y.ndim not in (1, 2):
        shape = list(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise DataError(f"y: expected {len(x)} labels (class indices [B] or soft labels [B, C]), got {shape}")
    bad = int((~torch.isfinite(x)).any(dim=1).sum())
    if bad:
        raise DataError(f"x: {bad} of {len(x)} rows hold NaN or infinite values; drop or fill them first")
    if y.ndim == 2:
        if not torch.allclose(y.sum(dim=1), torch.ones(len(y), dtype=y.dtype), atol=1e-4):
            raise DataError("y: soft labels must be non-negative rows that sum to 1")
        return x, y.to(x.dtype)
    if y.is_floating_point() or (len(y) and int(y.min()) < 0):
        raise DataError(f"y: class indices must be non-negative integers, got {y.dtype} values")
    classes = num_classes if num_classes is not None else int(y.max()) + 1 if len(y) else 1
    if len(y) and int(y.max()) >= classes:
        raise DataError(f"y: class index {int(y.max())} is not below num_classes={classes}")
    return x, F.one_hot(y.long(), classes).to(x.dtype)


def apply_steps(
    batch: Batch,
    kernels: Sequence[Callable[..., Batch]],
    ranges: Sequence[tuple[float, float, bool]],
    choices: Sequence[Sequence[tuple[int, float, float | None]]],
    repeats: int,
    generator: torch.Generator | None,
) -> Batch:
    """Per round, draw one choice of steps for the batch; run each step's kernel on the batch and keep its
    result for each sample with the step's probability (a magnitude of None is drawn per step and batch)."""
    for _ in range(repeats):
        choice = choices[int(torch.randint(len(choices), (), generator=generator))]
        for index, probability, magnitude in choice:
            low, high, _ = ranges[index]
            level = float(torch.rand((), generator=generator)) if magnitude is None else magnitude
            changed = kernels[index](batch, low + level * (high - low), generator)
            kept = (torch.rand(len(batch[0]), generator=generator) < probability)[:, None]
            batch = torch.where(kept, changed[0], batch[0]), torch.where(kept, changed[1], batch[1])
    return batch


class BatchAugmentation:
    """Apply an embedding policy to whole batches.

    Per round (the policy's structure says how many) one choice of steps is drawn for the batch (see
    :func:`apply_steps`).

    Example:
        >>> from autoaug.policy import OpSpec
        >>> policy = Policy("subpolicies", sub_policies=((OpSpec("e_mixup", 1.0, 0.2),),), modality="embedding")
        >>> aug = BatchAugmentation(policy, torch.Generator().manual_seed(0))
        >>> x_aug, y_soft = aug(torch.randn(8, 4), torch.arange(8) % 3)
        >>> x_aug.shape, y_soft.shape, bool(torch.allclose(y_soft.sum(dim=1), torch.ones(8)))
        (torch.Size([8, 4]), torch.Size([8, 3]), True)
    """

    def __init__(self, policy: Policy, generator: torch.Generator | None = None) -> None:
        self.policy = check_policy_modality(policy, MODALITY)
        self.plan = plan(policy)
        if self.plan.stock is not None:
            raise PolicyError(f"transform: embedding policies have no stock transforms, got {self.plan.stock[0]!r}")
        self.generator = generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int | None = None) -> Batch:
        """Augment ``x`` [B, D] with labels ``y`` ([B] class indices or [B, C] soft labels)."""
        compiled = self.plan
        kernels = [op.kernel for op in compiled.ops]
        return apply_steps(
            as_batch(x, y, num_classes), kernels, compiled.ranges, compiled.choices, compiled.repeats, self.generator
        )

    def __repr__(self) -> str:
        return f"BatchAugmentation({describe(self.policy)})"
