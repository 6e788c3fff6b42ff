"""The embedding modality's baselines: no augmentation and the paper's four ops at its setting."""

from __future__ import annotations

from autoaug.ops import get_op
from autoaug.ops.embedding import MODALITY
from autoaug.policy import OpSpec, Policy

PAPER_OPS = ("e_mixup", "e_stitchup", "soft_e_mixup", "soft_e_stitchup")
PAPER_ALPHA = 0.2
"""The Beta(alpha, alpha) parameter every baseline of :data:`PAPER_OPS` mixes with, on every batch."""


def alpha_magnitude(op: str, alpha: float) -> float:
    """The normalised magnitude at which ``op`` mixes with ``alpha``."""
    spec = get_op(op, MODALITY)
    return (alpha - spec.low) / (spec.high - spec.low)


def baseline_policies() -> dict[str, Policy]:
    """``none`` and each of :data:`PAPER_OPS` applied to every sample at :data:`PAPER_ALPHA`.

    Example:
        >>> list(baseline_policies())
        ['none', 'e_mixup', 'e_stitchup', 'soft_e_mixup', 'soft_e_stitchup']
    """
    policies = {"none": Policy("none", modality=MODALITY, name="none")}
    for op in PAPER_OPS:
        step = OpSpec(op, 1.0, alpha_magnitude(op, PAPER_ALPHA))
        policies[op] = Policy("subpolicies", sub_policies=((step,),), modality=MODALITY, name=op)
    return policies
