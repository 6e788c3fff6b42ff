"""Augmentation policies as plain, versioned data: what to apply, never how (the modality builds it).

Example:
    >>> from autoaug.policy import OpSpec, Policy, describe
    >>> policy = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8),),))
    >>> describe(policy)
    'subpolicies: [downscale(p=0.7,m=0.8)]'
"""

from __future__ import annotations

from autoaug.policy._describe import describe, headline
from autoaug.policy._files import read_policy, save_policy
from autoaug.policy._metadata import PolicyMetadata
from autoaug.policy._model import MAX_NUM_OPS, OpSpec, Policy
from autoaug.policy._plan import Plan, plan
from autoaug.policy._structures import STRUCTURES, Structure, get_structure

__all__ = [
    "MAX_NUM_OPS",
    "STRUCTURES",
    "OpSpec",
    "Plan",
    "Policy",
    "PolicyMetadata",
    "Structure",
    "describe",
    "get_structure",
    "headline",
    "plan",
    "read_policy",
    "save_policy",
]
