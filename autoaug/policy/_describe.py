"""A policy in words: one line for logs and records, a shorter headline for tables."""

from __future__ import annotations

from autoaug.policy._model import Policy
from autoaug.policy._structures import get_structure


def describe(policy: Policy) -> str:
    """Summarise a policy on one line.

    Example:
        >>> from autoaug.policy import OpSpec
        >>> sub_policy = (OpSpec("downscale", 0.7, 0.8), OpSpec("equalize", 0.5, 0.0))
        >>> describe(Policy("subpolicies", sub_policies=(sub_policy,)))
        'subpolicies: [downscale(p=0.7,m=0.8) > equalize(p=0.5)]'
    """
    return get_structure(policy.structure).describe(policy)


def headline(policy: Policy, top: int = 5) -> str:
    """A short summary for tables: a one-sub-policy sequence lists its most probable ops first.

    A stacked policy names its stock transform first (``RandAugment + downscale p0.70``).

    Example:
        >>> from autoaug.policy import OpSpec
        >>> headline(Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.2, 0.5), OpSpec("jpeg", 0.9, 0.5)),)))
        'jpeg p0.90, rotate p0.20'
    """
    if policy.structure not in ("subpolicies", "stacked") or len(policy.sub_policies) != 1:
        return describe(policy)
    likely = sorted(policy.sub_policies[0], key=lambda step: -step.probability)[:top]
    ops = ", ".join(f"{step.name} p{step.probability:.2f}" for step in likely)
    return f"{policy.transform} + {ops}" if policy.structure == "stacked" else ops
