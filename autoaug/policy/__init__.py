"""Augmentation policies: plain, versioned data that builds into a torchvision v2 transform.

Example:
    >>> from autoaug.policy import OpSpec, Policy, read_policy, save_policy
    >>> policy = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8),),))
    >>> save_policy(policy, "best.json")  # doctest: +SKIP
    >>> transform = read_policy("best.json").build()  # doctest: +SKIP
"""

from __future__ import annotations

from autoaug.policy._metadata import PolicyMetadata
from autoaug.policy._model import OpSpec, Policy, describe, load_policy, read_policy, save_policy
from autoaug.modalities.image._baselines import CLASSIC_OPS, baseline_policies  # noqa: E402
from autoaug.modalities.image._preview import render_grid  # noqa: E402
from autoaug.modalities.image._snippet import policy_to_snippet  # noqa: E402
from autoaug.modalities.image._transform import PolicyTransform  # noqa: E402

__all__ = [
    "CLASSIC_OPS",
    "OpSpec",
    "Policy",
    "PolicyMetadata",
    "PolicyTransform",
    "baseline_policies",
    "describe",
    "load_policy",
    "policy_to_snippet",
    "read_policy",
    "render_grid",
    "save_policy",
]
