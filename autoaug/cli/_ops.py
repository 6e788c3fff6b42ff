"""``autoaug ops``: the registered ops and their ranges, answered without loading torch, Ray or MLflow."""

from __future__ import annotations

import argparse

from autoaug.errors import ConfigError
from autoaug.ops import list_ops


def ops(args: argparse.Namespace) -> int:
    """List the registered ops of a modality with their real magnitude ranges."""
    found = list_ops(args.pattern, args.modality)
    if not found:
        raise ConfigError(f"no {args.modality} op matches {args.pattern!r}")
    print(f"{'op':<22} {'magnitude 0 -> 1':<22} {'signed':<7} description")
    for op in found:
        span = f"{op.low:g} -> {op.high:g}" if op.uses_magnitude else "(none)"
        print(f"{op.name:<22} {span:<22} {'yes' if op.signed else '':<7} {op.description}")
    return 0
