"""Modalities: each kind of input data behind one interface, :class:`Modality`, found by name.

The search, the evaluation, the records and the command line call only this interface; the image
modality (``autoaug.modalities.image``) is the built-in one.

Example:
    >>> from autoaug.modalities import get_modality
    >>> sorted(get_modality("image").baselines())
    ['auto_augment', 'none', 'rand_augment', 'trivial_augment_wide']
"""

from __future__ import annotations

from autoaug.modalities._base import (
    SHORTLIST,
    Backbone,
    EpochResult,
    Modality,
    OnEpoch,
    Reference,
    TargetMatch,
    Task,
    check_policy_modality,
)
from autoaug.modalities._data_inputs import HELD_OUT, TARGET, TRAINING, DataInput
from autoaug.modalities._fine_tune import fine_tune_once
from autoaug.modalities._registry import get_modality, list_modalities, register_modality

__all__ = [
    "HELD_OUT",
    "SHORTLIST",
    "TARGET",
    "TRAINING",
    "Backbone",
    "DataInput",
    "EpochResult",
    "Modality",
    "OnEpoch",
    "Reference",
    "TargetMatch",
    "Task",
    "check_policy_modality",
    "fine_tune_once",
    "get_modality",
    "list_modalities",
    "register_modality",
]
