"""A search's trials as plain rows: ranking, the best trial, tables, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

from autoaug.vocabulary import TEST_ACCURACY, VAL_ACCURACY

_OUTCOME_ORDER = {"completed": 0, "pruned": 1, "failed": 2, "running": 3}
TABLE_METRICS = (VAL_ACCURACY, "val_macro_f1", TEST_ACCURACY)


@dataclass(frozen=True)
class TrialRow:
    """One trial as its records hold it."""

    run_id: str
    name: str
    outcome: str
    baseline: str | None
    metrics: dict[str, float]
    policy: str
    reason: str = ""
    start_time: int = 0  # milliseconds since the epoch, as MLflow records it

    @property
    def score(self) -> float:
        """Target-validation accuracy: what trials are ranked by (never the held-out test split)."""
        return self.metrics.get(VAL_ACCURACY, float("-inf"))


def rank_rows(rows: list[TrialRow]) -> list[TrialRow]:
    """The rows best first: completed by validation accuracy, then pruned, then failed, then running."""
    return sorted(rows, key=lambda row: (_OUTCOME_ORDER.get(row.outcome, 9), -row.score, row.name))


def best_row(rows: list[TrialRow], searched_only: bool = False) -> TrialRow | None:
    """The completed trial with the highest validation accuracy (optionally ignoring baselines)."""
    candidates = [r for r in rows if r.outcome == "completed" and not (searched_only and r.baseline)]
    return max(candidates, key=lambda row: row.score, default=None)


def _cell(row: TrialRow, metric: str) -> str:
    value = row.metrics.get(metric)
    return f"{value:.3f}" if value is not None else "-"


TABLE_COLUMNS = ("#", "trial", "outcome", *TABLE_METRICS, "policy")
"""The columns of the ranked table (a failed trial's reason stands in its policy's column)."""


def table_cells(rows: list[TrialRow], limit: int | None = None, policy_width: int = 60) -> list[tuple[str, ...]]:
    """The first ``limit`` rows as the ranked table's text cells, one per :data:`TABLE_COLUMNS`."""
    cells = []
    for rank, row in enumerate(rows[:limit], start=1):
        summary = row.reason if row.outcome == "failed" else row.policy
        if len(summary) > policy_width:
            summary = summary[: policy_width - 3] + "..."
        cells.append((str(rank), row.name, row.outcome, *(_cell(row, m) for m in TABLE_METRICS), summary))
    return cells


def more_rows(rows: list[TrialRow], limit: int | None) -> str:
    """What a table of the first ``limit`` rows leaves out ('' when nothing)."""
    return f"... {len(rows) - limit} more (autoaug trials --all)" if limit is not None and len(rows) > limit else ""


def format_table(rows: list[TrialRow], limit: int | None = None, policy_width: int = 60) -> str:
    """A fixed-width ranked table for logs and pipes."""
    header = f"{'#':>3}  {'trial':<34} {'outcome':<9} " + " ".join(f"{m:>13}" for m in TABLE_METRICS) + "  policy"
    lines = [header, "-" * len(header)]
    for rank, name, outcome, *values, summary in table_cells(rows, limit, policy_width):
        cells = " ".join(f"{value:>13}" for value in values)
        lines.append(f"{rank:>3}  {name:<34} {outcome:<9} {cells}  {summary}")
    if more_rows(rows, limit):
        lines.append(f"     {more_rows(rows, limit)}")
    return "\n".join(lines)


def rows_to_csv(rows: list[TrialRow]) -> str:
    """All rows with every metric, as CSV (stored on the parent run)."""
    metric_names = sorted({name for row in rows for name in row.metrics})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rank", "trial", "outcome", "baseline", *metric_names, "policy", "reason", "run_id"])
    for rank, row in enumerate(rows, start=1):
        values = [row.metrics.get(name, "") for name in metric_names]
        writer.writerow([rank, row.name, row.outcome, row.baseline or "", *values, row.policy, row.reason, row.run_id])
    return buffer.getvalue()


def rows_to_json(rows: list[TrialRow]) -> str:
    """All rows, best first, as a JSON list of objects with every metric under ``metrics`` (a non-finite one as null)."""
    records = [
        {"rank": rank, "trial": row.name, "outcome": row.outcome, "baseline": row.baseline,
         "metrics": {name: value if math.isfinite(value) else None for name, value in row.metrics.items()},
         "policy": row.policy, "reason": row.reason, "run_id": row.run_id}
        for rank, row in enumerate(rows, start=1)
    ]
    return json.dumps(records, indent=2)
