"""A policy compiled into what to draw per input: the ops it uses, their ranges and the choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autoaug.ops import Op, get_op
from autoaug.policy._model import Policy
from autoaug.policy._structures import Choices, get_structure


@dataclass(frozen=True)
class Plan:
    """Plain data that, with the ops' kernels, says how a modality applies a policy to one input.

    Attributes:
        ops: The ops the policy uses, each once, in first-use order.
        ranges: ``(low, high, signed)`` of each op.
        choices: Per round one choice is picked uniformly; its steps ``(op index, probability,
            magnitude)`` run in order, a magnitude of None drawn uniformly in [0, 1].
        repeats: Rounds per input.
        stock: ``(name, kwargs)`` of a stock transform to run first, or None.
    """

    ops: tuple[Op, ...]
    ranges: tuple[tuple[float, float, bool], ...]
    choices: Choices
    repeats: int
    stock: tuple[str, dict[str, Any]] | None

    def settings(self) -> dict[str, Any]:
        """Everything but the ops: the keyword arguments of an applier that gets the kernels apart."""
        return {"ranges": self.ranges, "choices": self.choices, "repeats": self.repeats, "stock": self.stock}


def plan(policy: Policy) -> Plan:
    """Compile ``policy`` (see :class:`Plan`).

    Example:
        >>> plan(Policy("rand", ops=("rotate", "equalize"), num_ops=2, magnitude=0.5)).repeats
        2
    """
    structure = get_structure(policy.structure)
    names = [spec.name for sub in policy.sub_policies for spec in sub] + list(policy.ops)
    ops = tuple(get_op(name, policy.modality) for name in dict.fromkeys(names))
    choices = structure.choices(policy, {op.name: i for i, op in enumerate(ops)})
    return Plan(
        ops=ops,
        ranges=tuple((op.low, op.high, op.signed) for op in ops),
        choices=choices,
        repeats=structure.rounds(policy) if structure.rounds else min(1, len(choices)),
        stock=(policy.transform, policy.kwargs) if policy.transform else None,
    )
