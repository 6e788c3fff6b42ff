"""Reading a search's trials back from MLflow: rows, ranking, the best trial, tables."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run

from autoaug.records._search import TAG_BASELINE, TAG_HEADLINE, TAG_OUTCOME, TAG_REASON, trial_runs

_OUTCOME_ORDER = {"completed": 0, "pruned": 1, "failed": 2, "running": 3}
TABLE_METRICS = ("val_accuracy", "val_macro_f1", "test_accuracy")


@dataclass(frozen=True)
class TrialRow:
    """One trial as recorded in its MLflow child run."""

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
        return self.metrics.get("val_accuracy", float("-inf"))


def _row(run: Run) -> TrialRow:
    tags = run.data.tags
    return TrialRow(
        run_id=run.info.run_id,
        name=run.info.run_name,
        outcome=tags.get(TAG_OUTCOME, "running"),
        baseline=tags.get(TAG_BASELINE),
        metrics=dict(run.data.metrics),
        policy=tags.get(TAG_HEADLINE, tags.get("policy", "")),
        reason=tags.get(TAG_REASON, ""),
        start_time=run.info.start_time or 0,
    )


def load_trial_rows(client: MlflowClient, parent: Run) -> list[TrialRow]:
    """The search's trials, best first: completed by validation accuracy, then pruned, then failed."""
    rows = [_row(run) for run in trial_runs(client, parent)]
    return sorted(rows, key=lambda row: (_OUTCOME_ORDER.get(row.outcome, 9), -row.score, row.name))


def best_row(rows: list[TrialRow], searched_only: bool = False) -> TrialRow | None:
    """The completed trial with the highest validation accuracy (optionally ignoring baselines)."""
    candidates = [r for r in rows if r.outcome == "completed" and not (searched_only and r.baseline)]
    return max(candidates, key=lambda row: row.score, default=None)


def _cell(row: TrialRow, metric: str) -> str:
    value = row.metrics.get(metric)
    return f"{value:.3f}" if value is not None else "-"


def format_table(rows: list[TrialRow], limit: int | None = None, policy_width: int = 60) -> str:
    """A fixed-width ranked table for the terminal."""
    header = f"{'#':>3}  {'trial':<34} {'outcome':<9} " + " ".join(f"{m:>13}" for m in TABLE_METRICS) + "  policy"
    lines = [header, "-" * len(header)]
    for rank, row in enumerate(rows[:limit], start=1):
        summary = row.reason if row.outcome == "failed" else row.policy
        if len(summary) > policy_width:
            summary = summary[: policy_width - 3] + "..."
        cells = " ".join(f"{_cell(row, m):>13}" for m in TABLE_METRICS)
        lines.append(f"{rank:>3}  {row.name:<34} {row.outcome:<9} {cells}  {summary}")
    if limit is not None and len(rows) > limit:
        lines.append(f"     ... {len(rows) - limit} more (autoaug trials --all)")
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
