"""What the driver ships to Ray workers by value: the user's own ops and modality.

Workers import autoaug themselves; an op or a modality defined in the user's code (a script, a
notebook, a test module) may not be importable there, so its module travels pickled by value and its
ops are registered again on the worker before any policy is read.
"""

from __future__ import annotations

import sys

from ray import cloudpickle

from autoaug.modalities import Modality
from autoaug.ops import Op, list_ops, register_op


def _by_value(module: str) -> None:
    if module != "__main__" and not module.startswith("autoaug."):
        cloudpickle.register_pickle_by_value(sys.modules[module])


def user_ops(modality: Modality) -> tuple[Op, ...]:
    """The ops of ``modality`` registered by the user's code (their modules then pickle by value)."""
    ops = tuple(op for op in list_ops(modality=modality.name) if not op.kernel.__module__.startswith("autoaug."))
    for module in {op.kernel.__module__ for op in ops}:
        _by_value(module)
    return ops


def ship_modality(modality: Modality) -> None:
    """Pickle ``modality``'s module by value when it is the user's own."""
    _by_value(type(modality).__module__)


def ensure_ops(ops: tuple[Op, ...]) -> None:
    """Register on this worker the ops the driver knows that the worker lacks (users' own ops)."""
    for op in ops:
        if op.name not in {known.name for known in list_ops(modality=op.modality)}:
            register_op(
                op.name,
                modality=op.modality,
                low=op.low,
                high=op.high,
                signed=op.signed,
                uses_magnitude=op.uses_magnitude,
                description=op.description,
            )(op.kernel)
