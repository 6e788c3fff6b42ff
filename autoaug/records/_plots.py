"""A recorded search's plots: read from MLflow, saved to a folder, or logged on its parent run."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run

from autoaug.records._read import load_trial_rows, samples_grid
from autoaug.results import TrialRow, best_row
from autoaug.results.figures import write_plots

logger = logging.getLogger("autoaug.plots")

PLOTS_DIR = "plots"


def save_search_plots(
    client: MlflowClient, parent: Run, folder: Path, rows: list[TrialRow] | None = None
) -> list[Path]:
    """Write the search's plots into ``folder`` (rows are read from MLflow unless given).

    Example:
        >>> save_search_plots(client, find_search(client, "autoaug"), Path("plots"))  # doctest: +SKIP
    """
    rows = load_trial_rows(client, parent) if rows is None else rows
    best = best_row(rows)
    return write_plots(rows, best, samples_grid(client, best), folder, title=parent.info.run_name)


def log_drawn_plots(client: MlflowClient, parent_run_id: str, draw: Callable[[Path], object]) -> None:
    """Log under ``plots/`` on the search's parent run what ``draw`` writes into the folder it is given.

    Never raises: a search must not fail because a picture could not be drawn, so any error is
    logged as a warning instead.
    """
    try:
        with tempfile.TemporaryDirectory() as folder:
            draw(Path(folder))
            client.log_artifacts(parent_run_id, folder, PLOTS_DIR)
    except Exception as exc:  # noqa: BLE001 - plotting is best effort by design
        logger.warning("no plots on the search run %s: %s: %s", parent_run_id, type(exc).__name__, exc)


def log_search_plots(client: MlflowClient, parent_run_id: str, rows: list[TrialRow]) -> None:
    """Log the plots under ``plots/`` on the search's parent run (a failure is only a warning)."""
    log_drawn_plots(client, parent_run_id, lambda folder: save_search_plots(client, client.get_run(parent_run_id), folder, rows))
