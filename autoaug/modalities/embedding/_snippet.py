"""A policy as Python source that needs only torch and numpy: ``best_policy.py`` beside an exported embedding policy.

The source is the package's own code (the op modules and :func:`apply_steps`), copied without the
registration, so the snippet applies exactly what :class:`BatchAugmentation` applies, draw for draw.
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

from autoaug.modalities.embedding._augment import apply_steps
from autoaug.ops.embedding import _batch, _mixing, _neighbours, _perturb
from autoaug.policy import Policy, describe, plan

_MODULES: tuple[ModuleType, ...] = (_batch, _mixing, _perturb, _neighbours)

_TEMPLATE = '''"""{headline}

Rebuilds the embedding augmentation of the exported policy with torch and numpy alone:
``x_aug, y_soft = build_policy()(x, y)`` on embeddings [B, D] and labels [B, C] (rows summing to 1; turn
class indices into them with ``torch.nn.functional.one_hot(y, C).float()``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

{code}

KERNELS = [{kernels}]
RANGES = {ranges!r}
CHOICES = {choices!r}
REPEATS = {repeats!r}


def build_policy(generator: torch.Generator | None = None) -> Callable[[torch.Tensor, torch.Tensor], Batch]:
    """The policy as ``(x, y_soft) -> (x_aug, y_soft)``; a seeded ``generator`` replays its draws."""
    return lambda x, y: apply_steps((x, y), KERNELS, RANGES, CHOICES, REPEATS, generator)
'''


def _module_code(module: ModuleType) -> str:
    """The module's top-level statements without its docstring, its imports (the lazy torch among them)
    and the ops' registration."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    parts = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ) or (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        parts.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))  # a def's lineno skips its decorators
    return "\n\n\n".join(parts)


def policy_to_snippet(policy: Policy) -> str:
    """Source of a module whose ``build_policy()`` applies ``policy`` as :class:`BatchAugmentation` does."""
    compiled = plan(policy)
    code = "\n\n\n".join([*(_module_code(module) for module in _MODULES), inspect.getsource(apply_steps).strip()])
    return _TEMPLATE.format(
        headline=f"Embedding augmentation policy: {describe(policy)}",
        code=code,
        kernels=", ".join(op.kernel.__name__ for op in compiled.ops),
        ranges=list(compiled.ranges),
        choices=[list(choice) for choice in compiled.choices],
        repeats=compiled.repeats,
    )
