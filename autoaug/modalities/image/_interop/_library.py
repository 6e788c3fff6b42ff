"""What a library export is made of: a step renderer per op, the containers, and the source around them."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autoaug.modalities.image._interop._reading import Step, Values

StepRenderer = Callable[[Step], "str | None"]
"""Python source of one step (``""``: nothing to apply), or None when the library has no exact counterpart."""
ValueRenderer = Callable[[Values], "str | None"]
"""Python source of an op applied always at values from one interval, or None when the library cannot."""


def block(head: str, items: Sequence[str], tail: str) -> str:
    """``head``, then one item per line, indented, then ``tail``: ``v2.Compose([`` ... ``])``."""
    return head + "\n" + "".join(textwrap.indent(item, "    ") + ",\n" for item in items) + tail


def number(value: float) -> str:
    """A float as Python source that reads back exactly."""
    return repr(float(value))


def pair(low: float, high: float) -> str:
    return f"({number(low)}, {number(high)})"


def fixed(render: Callable[[float], str]) -> ValueRenderer:
    """A renderer of a single value: None for an interval the library would draw differently."""
    return lambda values: render(values.low) if values.fixed else None


def thresholded(
    identity: str,
    blur: Callable[[int, float], str],
    posterize: Callable[[int], str],
    solarize: Callable[[float], str],
) -> dict[str, ValueRenderer]:
    """Renderers of the ops that are the identity at some fixed values (sigma 0, 8 bits, a threshold above 255).

    ``blur`` gets autoaug's kernel size, ``2 * ceil(3 sigma) + 1`` (autoaug's own for images of at least
    ``ceil(3 sigma) + 1`` pixels a side), and the sigma; ``posterize`` the rounded bits; ``solarize`` the threshold.
    """

    def blur_at(sigma: float) -> str:
        return identity if sigma <= 0 else blur(2 * math.ceil(3 * sigma) + 1, sigma)

    def posterize_at(bits: float) -> str:
        return identity if round(bits) >= 8 else posterize(round(bits))

    def solarize_at(threshold: float) -> str:
        return identity if threshold > 255 else solarize(threshold)

    return {"gaussian_blur": fixed(blur_at), "posterize": fixed(posterize_at), "solarize": fixed(solarize_at)}


DRAWN_SIGMA = "autoaug's kernel size follows the drawn sigma, the library's is fixed"
DRAWN_BITS = "the library draws whole bit counts uniformly (or takes one), autoaug rounds a uniform value"


@dataclass(frozen=True)
class Library:
    """A library autoaug exports to.

    Attributes:
        name: The ``--format`` value.
        steps: A renderer per op name; an op not listed has no counterpart.
        reasons: Why an op, or the op at a drawn magnitude (key ``"<op> drawn"``), does not map.
        stock: Python source of a stock torchvision transform, or None when the library has none.
        imports: The import lines of the source.
        usage: The docstring paragraph on its input and how its draws relate to autoaug's.
        signature: The ``def build_policy(...)`` line with its return type.
        statements: The function's statements, ``{body}`` standing for the transform.
        body: The transform's source from the rendered stock transform (None: none), the number of rounds and
            each choice's rendered steps.
    """

    name: str
    steps: Mapping[str, StepRenderer]
    reasons: Mapping[str, str]
    stock: Callable[[str, dict[str, Any]], str] | None
    imports: str
    usage: str
    signature: str
    body: Callable[[str | None, int, list[list[str]]], str]
    statements: str = "return {body}"

    def define(self, stock: str | None, rounds: int, choices: list[list[str]]) -> str:
        """The ``build_policy`` function."""
        body = textwrap.indent(self.body(stock, rounds, choices), "    ").lstrip()
        statements = textwrap.indent(self.statements, "    ").replace("{body}", body)
        return f'{self.signature}\n    """Return the policy as {self.name} transforms."""\n{statements}\n'

    def render(self, step: Step) -> str | None:
        renderer = self.steps.get(step.op.name)
        return None if renderer is None else renderer(step)

    def reason(self, step: Step) -> str:
        """Why ``step`` has no counterpart here."""
        name = step.op.name
        if step.drawn and f"{name} drawn" in self.reasons:
            return self.reasons[f"{name} drawn"]
        if name in self.reasons:
            return self.reasons[name]
        if not step.op.kernel.__module__.startswith("autoaug.ops."):
            return "a user-registered op"
        return f"no {self.name} transform reproduces it at these values"


@dataclass(frozen=True)
class Containers:
    """How a library composes transforms, for libraries whose transforms take ``p`` and one value interval."""

    sequence: Callable[[list[str]], str]
    choice: Callable[[list[str]], str]
    apply: Callable[[str, float], str]
    identity: str
    top: Callable[[list[str]], str]

    def step(self, render: ValueRenderer) -> StepRenderer:
        """A step renderer from a renderer of one interval: a uniform choice of the sign's branches, applied with the
        step's probability."""

        def render_step(step: Step) -> str | None:
            branches = [render(values) for values in step.branches]
            if any(branch is None for branch in branches):
                return None
            chosen = branches[0] if len(branches) == 1 else self.choice(branches)  # type: ignore[arg-type]
            return chosen if step.probability >= 1 else self.apply(chosen, step.probability)  # type: ignore[arg-type]

        return render_step

    def steps(self, table: Mapping[str, ValueRenderer]) -> dict[str, StepRenderer]:
        return {name: self.step(render) for name, render in table.items()}

    def body(self, stock: str | None, rounds: int, choices: list[list[str]]) -> str:
        """The whole transform: the stock transform, then the rounds; a choice's branches are always sequences, so
        that containers weighting their children by ``p`` weigh them equally."""
        subs = [self.sequence([step for step in steps if step] or [self.identity]) for steps in choices]
        repeated = [subs[0] if len(subs) == 1 else self.choice(subs)] * rounds if subs else []
        return self.top(([stock] if stock else []) + repeated or [self.identity])
