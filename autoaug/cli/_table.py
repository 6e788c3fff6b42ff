"""The ranked trials as a rich table, for ``autoaug trials`` in a terminal (a pipe gets the plain table)."""

from __future__ import annotations

from rich import box
from rich.table import Table

from autoaug.results import TABLE_COLUMNS, TABLE_METRICS, TrialRow, more_rows, table_cells

_OUTCOME_STYLES = {"pruned": "dim", "failed": "red", "running": "yellow"}
_RIGHT = {"#", *TABLE_METRICS}


def trials_table(rows: list[TrialRow], limit: int | None, title: str) -> Table:
    """The first ``limit`` of the ranked ``rows``, one per line, styled by outcome, under ``title``."""
    table = Table(title=title, title_justify="left", caption=more_rows(rows, limit) or None, box=box.SIMPLE_HEAD)
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="right" if column in _RIGHT else "left", no_wrap=column != "policy")
    for cells in table_cells(rows, limit):
        table.add_row(*cells, style=_OUTCOME_STYLES.get(cells[2]))
    return table
