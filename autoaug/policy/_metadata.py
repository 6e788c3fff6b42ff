"""Where an exported policy came from and how it scored: the optional ``metadata`` of a policy file."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from autoaug.errors import PolicyError
from autoaug.vocabulary import (
    AFFINITY,
    DIVERSITY,
    FEATURE_DIVERSITY,
    FEATURE_RELEVANCE,
    TEST_ACCURACY,
    VAL_ACCURACY,
)

METADATA_VERSION = 1
SCORES = (VAL_ACCURACY, TEST_ACCURACY, AFFINITY, DIVERSITY, FEATURE_RELEVANCE, FEATURE_DIVERSITY)
# The confirmation stage's paired gap to the best baseline (mean, std, 95% interval) over fresh seeds.
GAP_SCORES = ("gap_mean", "gap_std", "gap_ci_low", "gap_ci_high")
_TEXTS = ("search", "trial", "run_id", "pick", "best_baseline", "verdict")


@dataclasses.dataclass(frozen=True)
class PolicyMetadata:
    """The search and trial a policy was exported from, and the trial's scores (None: not recorded).

    After a confirmation stage it also holds the paired gap of the policy's target-validation
    accuracy to ``best_baseline`` over ``confirm_seeds`` fresh seeds (``gap_*``) and the verdict.

    Metadata never changes what the policy does; building the augmentation ignores it.

    Example:
        >>> PolicyMetadata(search="digits-v1", trial="trial-004", pick="knee", val_accuracy=0.51).affinity is None
        True
    """

    search: str = ""
    trial: str = ""
    run_id: str = ""
    pick: str = ""
    best_baseline: str = ""
    verdict: str = ""
    confirm_seeds: int | None = None
    gap_mean: float | None = None
    gap_std: float | None = None
    gap_ci_low: float | None = None
    gap_ci_high: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    affinity: float | None = None
    diversity: float | None = None
    feature_relevance: float | None = None
    feature_diversity: float | None = None

    def __post_init__(self) -> None:
        for name in _TEXTS:
            if not isinstance(getattr(self, name), str):
                raise PolicyError(f"metadata.{name}: expected a string, got {getattr(self, name)!r}")
        seeds = self.confirm_seeds
        if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
            raise PolicyError(f"metadata.confirm_seeds: expected a positive integer or null, got {seeds!r}")
        for name in (*SCORES, *GAP_SCORES):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise PolicyError(f"metadata.{name}: expected a finite number or null, got {value!r}")
            object.__setattr__(self, name, float(value))

    @classmethod
    def from_scores(cls, metrics: Mapping[str, float], **texts: str) -> PolicyMetadata:
        """Metadata from a trial's metrics (only the known scores, non-finite ones as not recorded)."""
        scores = {name: metrics[name] for name in SCORES if name in metrics and math.isfinite(metrics[name])}
        return cls(**texts, **scores)

    def scores(self) -> dict[str, float]:
        """The recorded scores, by name."""
        return {name: value for name in SCORES if (value := getattr(self, name)) is not None}

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict, with its own version."""
        return {"version": METADATA_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> PolicyMetadata:
        """Parse the ``metadata`` object of a policy file; unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"metadata: expected an object, got {type(data).__name__}")
        if data.get("version") != METADATA_VERSION:
            raise PolicyError(
                f"metadata.version: unsupported version {data.get('version')!r} "
                f"(this autoaug reads metadata version {METADATA_VERSION})"
            )
        allowed = ("version", *_TEXTS, "confirm_seeds", *GAP_SCORES, *SCORES)
        for key in data:
            if key not in allowed:
                raise PolicyError(f"metadata.{key}: unknown key (allowed: {', '.join(allowed)})")
        return cls(**{key: value for key, value in data.items() if key != "version"})
