"""Image policies as other libraries' own transforms, where every op maps exactly (``autoaug export --format``).

Each library has a table from autoaug's ops to its transforms, with the value conversion, the interpolation
and the fill that reproduce the op; a policy using an op the table lacks, or an op at values the library would
draw differently, is refused with every such op named, never approximated.

Example:
    >>> from autoaug.policy import OpSpec, Policy
    >>> source = library_source(Policy("subpolicies", sub_policies=((OpSpec("hflip", 0.5, 0.0),),)), "torchvision")
    >>> "v2.RandomApply" in source
    True
"""

from __future__ import annotations

import textwrap

from autoaug.errors import ExportError
from autoaug.modalities.image._interop._albumentations import ALBUMENTATIONS
from autoaug.modalities.image._interop._kornia import KORNIA
from autoaug.modalities.image._interop._library import Library
from autoaug.modalities.image._interop._reading import Reading, read_policy
from autoaug.modalities.image._interop._timm import TIMM
from autoaug.modalities.image._interop._torchvision import TORCHVISION
from autoaug.modalities.image._snippet import _provenance, _title
from autoaug.ops import Op
from autoaug.policy import Policy, describe

__all__ = ["LIBRARIES", "library_source", "mapping_table"]

LIBRARIES: dict[str, Library] = {library.name: library for library in (TORCHVISION, TIMM, ALBUMENTATIONS, KORNIA)}
_STATES = {(True, True): "yes", (True, False): "fixed m", (False, True): "drawn m", (False, False): "no"}
_DEFAULT = "without --format, autoaug export writes any policy exactly (JSON plus a torchvision-only snippet)"


def library_source(policy: Policy, library: str) -> str:
    """Python source defining ``build_policy()``, the policy built from ``library``'s transforms.

    Raises:
        ExportError: If ``library`` is not one of :data:`LIBRARIES`, or if an op (or the
            stock transform) has no exact counterpart there: the message names each, why, and the formats that take it.
    """
    if library not in LIBRARIES:
        raise ExportError(f"--format: expected one of {', '.join(LIBRARIES)}, got {library!r}")
    target = LIBRARIES[library]
    reading = read_policy(policy)
    problems = _problems(reading, target)
    if problems:
        raise ExportError(
            f"cannot export the policy to {library} exactly, and autoaug never approximates:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
            + _DEFAULT
        )
    stock = target.stock(*reading.stock) if target.stock is not None and reading.stock else None
    choices = [[str(target.render(step)) for step in choice] for choice in reading.choices]
    summary = f"Augmentation policy {_title(policy)}: {describe(policy)}"
    origin = (
        f"Exported by ``autoaug export --format {library}`` from {library}'s own transforms, each reproducing an "
        f"autoaug op exactly (the mapping table is in autoaug's README). {target.usage}"
    )
    docstring = f"{summary}\n\n{_provenance(policy)}{textwrap.fill(origin, width=100)}\n"
    return (
        '"""' + docstring.replace("\\", "\\\\").replace('"', '\\"') + '"""\n\n'
        f"from __future__ import annotations\n\n{target.imports}\n\n{target.define(stock, reading.rounds, choices)}"
    )


def _problems(reading: Reading, target: Library) -> list[str]:
    """One line per op (or stock transform) that ``target`` cannot reproduce exactly."""
    problems = []
    if reading.stock and target.stock is None:
        name = reading.stock[0]
        takers = [library.name for library in LIBRARIES.values() if library.stock is not None]
        why = target.reasons.get("stock", f"{target.name} has no transform that draws as torchvision's {name} does")
        problems.append(f"the stock transform {name}: {why}; formats that take it: {', '.join(takers)}")
    for step in dict.fromkeys(step for choice in reading.choices for step in choice):
        if target.render(step) is not None:
            continue
        takers = [library.name for library in LIBRARIES.values() if library.render(step) is not None]
        where = f"formats that take it: {', '.join(takers)}" if takers else "no --format takes it"
        line = f"{step.label}: {target.reason(step)}; {where}"
        if line not in problems:
            problems.append(line)
    return problems


def mapping_table(ops: list[Op]) -> dict[str, dict[str, str]]:
    """Per op, per library: ``"yes"`` (at any magnitude), ``"fixed m"`` (at a fixed magnitude only: not in the
    ``trivial`` structure), ``"drawn m"`` (only at a magnitude drawn uniformly) or ``"no"``; the README's table."""
    table: dict[str, dict[str, str]] = {}
    for op in ops:
        fixed = read_policy(Policy("rand", ops=(op.name,), num_ops=1, magnitude=0.5)).choices[0][0]
        drawn = read_policy(Policy("trivial", ops=(op.name,))).choices[0][0]
        table[op.name] = {
            name: _STATES[library.render(fixed) is not None, library.render(drawn) is not None]
            for name, library in LIBRARIES.items()
        }
    return table

