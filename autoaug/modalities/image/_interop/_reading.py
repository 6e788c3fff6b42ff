"""A policy read as what another library must reproduce: rounds, each a uniform choice of a list of steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autoaug.ops import Op
from autoaug.policy import Policy, plan


@dataclass(frozen=True)
class Values:
    """The values an op is applied at: uniformly from ``low`` to ``high``, a single value when they are equal."""

    low: float
    high: float

    @property
    def fixed(self) -> bool:
        return self.low == self.high


@dataclass(frozen=True)
class Step:
    """One op of a choice: applied with ``probability`` at values from one of ``branches``, picked uniformly.

    A signed op at a fixed magnitude has two branches, ``+v`` and ``-v``; at a drawn magnitude
    (``drawn``, the ``trivial`` structure) its values are one interval symmetric about 0.
    """

    op: Op
    probability: float
    branches: tuple[Values, ...]
    drawn: bool

    @property
    def label(self) -> str:
        """The step as error messages name it."""
        if not self.op.uses_magnitude:
            return self.op.name
        if self.drawn:
            return f"{self.op.name} at a uniformly drawn magnitude"
        value = self.branches[0].low
        return f"{self.op.name} at value {f'+-{abs(value):g}' if self.sign_drawn else f'{value:g}'}"

    @property
    def sign_drawn(self) -> bool:
        """Whether each application draws the sign of a fixed value (+v or -v, each half the time)."""
        return len(self.branches) == 2 and not self.drawn


@dataclass(frozen=True)
class Reading:
    """What to draw per image: the stock transform ``(name, kwargs)`` first, if any, then ``rounds`` rounds,
    each picking one of ``choices`` uniformly and running its steps in order."""

    stock: tuple[str, dict[str, Any]] | None
    rounds: int
    choices: tuple[tuple[Step, ...], ...]


def _branches(low: float, high: float, signed: bool, magnitude: float | None) -> tuple[Values, ...]:
    """The value intervals of one application, one picked uniformly (see :class:`Step`)."""
    if magnitude is not None:
        value = low + magnitude * (high - low)
        return (Values(value, value), Values(-value, -value)) if signed and value != 0 else (Values(value, value),)
    span = Values(min(low, high), max(low, high))
    if not signed:
        return (span,)
    if 0.0 in (low, high):  # [0, r] with a random sign is uniform on [-r, r]
        radius = max(abs(low), abs(high))
        return (Values(-radius, radius),)
    return span, Values(-span.high, -span.low)


def read_policy(policy: Policy) -> Reading:
    """Read ``policy`` through its plan; steps that never fire (probability 0) are left out."""
    compiled = plan(policy)
    choices = []
    for choice in compiled.choices:
        steps = []
        for index, probability, magnitude in choice:
            op = compiled.ops[index]
            low, high, signed = compiled.ranges[index]
            if probability == 0:
                continue
            if not op.uses_magnitude:
                low, high, signed, magnitude = low, low, False, 0.0
            steps.append(Step(op, probability, _branches(low, high, signed, magnitude), magnitude is None))
        choices.append(tuple(steps))
    return Reading(compiled.stock, compiled.repeats, tuple(choices))
