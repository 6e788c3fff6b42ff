"""Results as plain data: trial rows and their ranking, the trade-off between measures, the scores of
repeated fine-tunes, the confirmation stage's selection. No torch, Ray or MLflow.

Figures of a search are in :mod:`autoaug.results.figures` (imported on its own: it loads matplotlib).
"""

from __future__ import annotations

from autoaug.results._rows import (
    TABLE_COLUMNS,
    TABLE_METRICS,
    TrialRow,
    best_row,
    format_table,
    more_rows,
    rank_rows,
    rows_to_csv,
    rows_to_json,
    table_cells,
)
from autoaug.results._selection import PairedGap, Selection, paired_gap, select
from autoaug.results._statistics import (
    DEFAULT_REPEATS,
    Comparison,
    PolicyStats,
    SeedResult,
    check_seeds,
    compare,
    evaluation_seeds,
    summarise,
)
from autoaug.results._tradeoff import FRONT_MEASURES, PICKS, Choice, candidates, choose, knee, measured, pareto_front

__all__ = [
    "DEFAULT_REPEATS",
    "FRONT_MEASURES",
    "PICKS",
    "TABLE_COLUMNS",
    "TABLE_METRICS",
    "Choice",
    "Comparison",
    "PairedGap",
    "PolicyStats",
    "SeedResult",
    "Selection",
    "TrialRow",
    "best_row",
    "candidates",
    "check_seeds",
    "choose",
    "compare",
    "evaluation_seeds",
    "format_table",
    "knee",
    "measured",
    "more_rows",
    "paired_gap",
    "pareto_front",
    "rank_rows",
    "rows_to_csv",
    "rows_to_json",
    "select",
    "summarise",
    "table_cells",
]
