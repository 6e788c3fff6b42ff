"""Proving a policy: fine-tunes under it and the baselines over several seeds, reported and recorded.

``autoaug evaluate`` is :func:`prepare_evaluation` (every input checked before anything trains) then
:func:`run_evaluation`; :func:`repeat_fine_tunes` is the loop of fine-tunes alone.
"""

from __future__ import annotations

from autoaug.evaluation._repeats import repeat_fine_tunes
from autoaug.evaluation._report import comparisons, format_table, plot, to_record
from autoaug.evaluation._run import (
    EvaluationOutcome,
    PreparedEvaluation,
    prepare_evaluation,
    run_evaluation,
)

__all__ = [
    "EvaluationOutcome",
    "PreparedEvaluation",
    "comparisons",
    "format_table",
    "plot",
    "prepare_evaluation",
    "repeat_fine_tunes",
    "run_evaluation",
    "to_record",
]
