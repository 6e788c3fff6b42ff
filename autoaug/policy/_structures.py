"""Policy structures: how a policy's fields are read, one :class:`Structure` entry per structure.

A structure names the :class:`~autoaug.policy.Policy` fields it reads, describes a policy in one
line and says what to draw per input: ``choices`` (one is picked uniformly per round, its steps
``(op index, probability, magnitude)`` run in order; a magnitude of None is drawn uniformly) and the
number of rounds. A new structure is one more entry in :data:`STRUCTURES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autoaug.errors import PolicyError
from autoaug.ops import get_op

if TYPE_CHECKING:
    from autoaug.policy._model import OpSpec, Policy

Choices = tuple[tuple[tuple[int, float, float | None], ...], ...]


@dataclass(frozen=True)
class Structure:
    """One way of reading a policy.

    Attributes:
        name: The ``structure`` value of a policy file.
        fields: The policy fields it reads; every other field keeps its default.
        describe: The policy on one line.
        choices: What to draw from per round, given each op's index in the plan.
        rounds: Rounds per input; None: one round when there is anything to draw from.
    """

    name: str
    fields: tuple[str, ...]
    describe: Callable[[Policy], str]
    choices: Callable[[Policy, Mapping[str, int]], Choices] = lambda policy, index: ()
    rounds: Callable[[Policy], int] | None = None


def _spec(spec: OpSpec, modality: str) -> str:
    if get_op(spec.name, modality).uses_magnitude:
        return f"{spec.name}(p={spec.probability:.2g},m={spec.magnitude:.2g})"
    return f"{spec.name}(p={spec.probability:.2g})"


def _sub_policies(policy: Policy) -> str:
    subs = (" > ".join(_spec(spec, policy.modality) for spec in sub) for sub in policy.sub_policies)
    return " | ".join(f"[{sub}]" for sub in subs)


def _stock(policy: Policy) -> str:
    arguments = ", ".join(f"{key}={value!r}" for key, value in policy.kwargs.items())
    return f"{policy.transform}({arguments})"


def _pool(policy: Policy) -> str:
    return "{" + ", ".join(policy.ops) + "}"


def _steps(policy: Policy, index: Mapping[str, int]) -> Choices:
    """Each sub-policy is a choice; its steps run in order, each with its own probability."""
    return tuple(
        tuple((index[spec.name], spec.probability, spec.magnitude) for spec in sub) for sub in policy.sub_policies
    )


def _pool_at_shared_magnitude(policy: Policy, index: Mapping[str, int]) -> Choices:
    return tuple(((index[name], 1.0, policy.magnitude),) for name in policy.ops)


def _pool_at_drawn_magnitude(policy: Policy, index: Mapping[str, int]) -> Choices:
    return tuple(((index[name], 1.0, None),) for name in policy.ops)


STRUCTURES: dict[str, Structure] = {
    structure.name: structure
    for structure in (
        Structure("none", (), lambda policy: "none"),
        Structure("subpolicies", ("sub_policies",), lambda policy: "subpolicies: " + _sub_policies(policy), _steps),
        Structure(
            "rand",
            ("ops", "num_ops", "magnitude"),
            lambda policy: f"rand: {policy.num_ops} ops from {_pool(policy)} at m={policy.magnitude:.2g}",
            _pool_at_shared_magnitude,
            rounds=lambda policy: policy.num_ops,
        ),
        Structure(
            "trivial",
            ("ops",),
            lambda policy: f"trivial: 1 op from {_pool(policy)} at a uniformly drawn m",
            _pool_at_drawn_magnitude,
        ),
        Structure("torchvision", ("transform", "kwargs"), lambda policy: f"torchvision: {_stock(policy)}"),
        Structure(
            "stacked",
            ("transform", "kwargs", "sub_policies"),
            lambda policy: f"stacked: {_stock(policy)} + {_sub_policies(policy)}",
            _steps,
        ),
    )
}
"""Every structure, by name: AutoAugment's sub-policies, RandAugment, TrivialAugment, a stock transform,
and a stock transform followed by searched steps."""


def get_structure(name: object) -> Structure:
    """Return the structure ``name``.

    Raises:
        PolicyError: If there is none, listing the known ones.
    """
    if isinstance(name, str) and name in STRUCTURES:
        return STRUCTURES[name]
    raise PolicyError(f"structure: expected one of {', '.join(STRUCTURES)}, got {name!r}")
