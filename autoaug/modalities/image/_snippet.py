"""Export a policy as standalone Python source that needs only torch and torchvision."""

from __future__ import annotations

import ast
import inspect
import pprint
import textwrap
from collections.abc import Callable

from autoaug.errors import PolicyError
from autoaug.modalities.image._transform import _Applier
from autoaug.ops.image import make_stock_transform
from autoaug.policy import Policy, describe, plan

_IMPORTS = """\
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F
"""
# Names the snippet defines or imports, which a kernel's function name must not shadow.
_TAKEN = {"build_policy", "make_stock_transform", "_Applier", "math", "Callable", "Sequence", "Any", "PIL", "torch"}
_TAKEN |= {"tv_tensors", "v2", "F"}


def policy_to_snippet(policy: Policy) -> str:
    """Return standalone Python source defining ``build_policy(generator=None) -> torch.nn.Module``.

    The source holds the kernels of the ops the policy uses and the same applier code as
    :class:`PolicyTransform`, so with the same generator (or the same global seed) it gives
    identical output without autoaug installed.

    Raises:
        PolicyError: If a kernel's source is unavailable (a lambda, a closure, code typed into a
            REPL) or two kernels share a function name.

    Example:
        >>> source = policy_to_snippet(Policy("trivial", ops=("rotate",)))
        >>> namespace = {}
        >>> exec(source, namespace)
        >>> transform = namespace["build_policy"]()
    """
    compiled = plan(policy)
    ops = compiled.ops
    sources = {op.kernel: _function_source(op.name, op.kernel) for op in ops}
    unique = [kernel.__name__ for kernel in sources]
    clashes = sorted({name for name in unique if name in _TAKEN or unique.count(name) > 1})
    if clashes:
        raise PolicyError(
            f"cannot export kernels named {', '.join(clashes)}: two kernels share the name or it is one the "
            "snippet uses; rename the function"
        )
    names = ", ".join(op.kernel.__name__ for op in ops)
    arguments = [f"kernels=({names}{',' if len(ops) == 1 else ''})"]
    arguments += [f"{key}={_literal(value)}" for key, value in compiled.settings().items()]
    summary = f"Augmentation policy {_title(policy)}: {describe(policy)}"
    arguments.append(f"description={_literal(summary)}")
    docstring = (
        f"{summary}\n\n"
        + _provenance(policy)
        + "Standalone export of an autoaug policy: it needs only torch and torchvision. ``build_policy()``\n"
        "returns a torchvision v2 transform for uint8 images (PIL, [C, H, W] or [B, C, H, W] tensors)\n"
        "that matches ``autoaug.load_policy`` exactly for the same generator or global seed.\n"
    )
    builder = (
        "def build_policy(generator: torch.Generator | None = None) -> torch.nn.Module:\n"
        '    """Return the policy as a transform; a seeded generator reproduces its draws."""\n'
        "    return _Applier(\n"
        + "".join(f"        {argument},\n" for argument in arguments)
        + "        generator=generator,\n    )\n"
    )
    parts = [
        '"""' + docstring.replace("\\", "\\\\").replace('"', '\\"') + '"""\n\n' + _IMPORTS,
        *sources.values(),
        inspect.getsource(make_stock_transform),
        inspect.getsource(_Applier),
        builder,
    ]
    return "\n\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def _title(policy: Policy) -> str:
    """What the docstring and the transform's repr call the policy: its name, else the search and trial it came
    from, else that it has no name."""
    meta = policy.metadata
    if policy.name:
        return repr(policy.name)
    if meta is not None and meta.search:
        return repr(f"{meta.search}/{meta.trial}")
    return "(unnamed)"


def _provenance(policy: Policy) -> str:
    """A docstring paragraph naming the search and trial the policy came from, with its scores."""
    meta = policy.metadata
    if meta is None:
        return ""
    origin = f"Exported from search {meta.search!r}, trial {meta.trial!r}"
    origin += f" (pick: {meta.pick})" if meta.pick else ""
    scores = ", ".join(f"{name} {value:.4g}" for name, value in meta.scores().items())
    text = textwrap.fill(origin + (f"; {scores}." if scores else "."), width=100) + "\n\n"
    return text + (textwrap.fill(f"Confirmation: {meta.verdict}.", width=100) + "\n\n" if meta.verdict else "")


def _literal(value: object) -> str:
    return textwrap.indent(pprint.pformat(value, width=100), " " * 8).lstrip()


def _function_source(op_name: str, kernel: Callable[..., object]) -> str:
    """Return the source of a kernel without its decorators (which would need autoaug)."""
    try:
        source = textwrap.dedent(inspect.getsource(kernel))
        node = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError) as error:
        raise PolicyError(
            f"op {op_name!r}: the kernel's source is unavailable ({error}); define it with def in a .py file"
        ) from None
    if not isinstance(node, ast.FunctionDef) or node.name != kernel.__name__ or kernel.__code__.co_freevars:
        raise PolicyError(
            f"op {op_name!r}: only kernels that are plain functions (no lambda, no closure) can be exported"
        )
    return "\n".join(source.splitlines()[node.lineno - 1 :])
