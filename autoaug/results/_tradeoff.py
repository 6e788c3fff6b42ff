"""Choosing a trial on the trade-off between relevance (affinity) and diversity.

Pure functions over :class:`~autoaug.results.TrialRow`: no MLflow calls, no tensors.

The front is two-dimensional, over (affinity, diversity), both higher-is-better. Target accuracy is
deliberately not a third objective: the trial with the best accuracy is always on a front that
includes accuracy, so the ``pareto`` pick would just repeat ``best``. Accuracy instead chooses among
the front's points (``pareto``) and breaks ties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autoaug.errors import ConfigError
from autoaug.results._rows import TrialRow, best_row
from autoaug.vocabulary import AFFINITY, DIVERSITY

PICKS = ("best", "pareto", "knee")
FRONT_MEASURES = (AFFINITY, DIVERSITY)
"""The two axes of the Pareto front, both higher-is-better."""


@dataclass(frozen=True)
class Choice:
    """The trial a pick chose and, in words, why."""

    row: TrialRow
    pick: str
    reason: str


def measured(row: TrialRow) -> bool:
    """Whether the row carries finite values for both objectives."""
    return all(math.isfinite(row.metrics.get(name, math.nan)) for name in FRONT_MEASURES)


def candidates(rows: list[TrialRow]) -> list[TrialRow]:
    """Completed trials (baselines included) that recorded affinity and diversity."""
    return [row for row in rows if row.outcome == "completed" and measured(row)]


def _point(row: TrialRow) -> tuple[float, float]:
    return row.metrics[AFFINITY], row.metrics[DIVERSITY]


def _dominates(a: TrialRow, b: TrialRow) -> bool:
    """``a`` is at least as good as ``b`` on both objectives and strictly better on one."""
    pa, pb = _point(a), _point(b)
    return all(x >= y for x, y in zip(pa, pb)) and pa != pb


def pareto_front(rows: list[TrialRow]) -> list[TrialRow]:
    """The completed, measured trials no other one dominates, ordered by affinity (ascending).

    Trials with identical (affinity, diversity) do not dominate each other, so ties are all on the
    front. Rows without the measures, pruned, failed and running rows are left out.

    Example:
        >>> rows = [TrialRow("a", "t1", "completed", None, {"affinity": 0.9, "diversity": 1.1}, "p"),
        ...         TrialRow("b", "t2", "completed", None, {"affinity": 0.8, "diversity": 1.0}, "p")]
        >>> [row.name for row in pareto_front(rows)]
        ['t1']
    """
    pool = candidates(rows)
    front = [row for row in pool if not any(_dominates(other, row) for other in pool)]
    return sorted(front, key=lambda row: (*_point(row), row.name))


def _by_accuracy(row: TrialRow) -> tuple[float, str]:
    # Higher validation accuracy first; the name keeps the order total, hence deterministic.
    return (-row.score, row.name)


def utopia_distances(front: list[TrialRow]) -> list[float]:
    """Each front point's Euclidean distance to (1, 1) after min-max normalising both objectives.

    An objective that is the same on the whole front normalises to 1 for every point.
    """
    columns = list(zip(*(_point(row) for row in front)))
    spans = [(min(column), max(column)) for column in columns]

    def normalised(value: float, low: float, high: float) -> float:
        return (value - low) / (high - low) if high > low else 1.0

    return [
        math.hypot(*(1.0 - normalised(value, *span) for value, span in zip(_point(row), spans)))
        for row in front
    ]


def knee(front: list[TrialRow]) -> TrialRow:
    """The front point closest to the utopia point (see :func:`utopia_distances`).

    Ties go to the higher validation accuracy, then to the trial name.
    """
    distances = utopia_distances(front)
    ranked = sorted(zip(distances, front), key=lambda pair: (round(pair[0], 12), *_by_accuracy(pair[1])))
    return ranked[0][1]


def _no_measures(search: str, rows: list[TrialRow], pick: str) -> ConfigError:
    completed = sum(row.outcome == "completed" for row in rows)
    if not completed:
        return ConfigError(f"search {search!r} has no completed trial to export")
    return ConfigError(
        f"--pick {pick}: none of the {completed} completed trials of search {search!r} recorded both affinity "
        "and diversity (searches from before these measures were added lack them); use --pick best, "
        "or run a new search"
    )


def choose(rows: list[TrialRow], pick: str, search: str = "", confirmed: tuple[str, str] | None = None) -> Choice:
    """The trial ``pick`` selects among a search's rows.

    - ``best``: the confirmation stage's pick when ``confirmed`` = (its run id, its verdict) is given,
      else the completed trial with the highest target-validation accuracy.
    - ``pareto``: the most accurate trial on the (affinity, diversity) Pareto front.
    - ``knee``: the front point closest to the utopia point after min-max normalisation.

    Raises:
        ConfigError: For an unknown pick, no completed trial, or (pareto, knee) no trial with the measures.

    Example:
        >>> rows = [TrialRow("a", "trial-004", "completed", None, {"val_accuracy": 0.4}, "p")]
        >>> choose(rows, "best").row.name
        'trial-004'
    """
    if pick not in PICKS:
        raise ConfigError(f"--pick: expected one of {', '.join(PICKS)}, got {pick!r}")
    if pick == "best" and confirmed is not None:
        run_id, verdict = confirmed
        found = [row for row in rows if row.run_id == run_id]
        if not found:
            raise ConfigError(f"search {search!r}: its confirmed pick (run {run_id}) is not among its trials")
        return Choice(found[0], pick, f"confirmation stage: {verdict}")
    if pick == "best":
        row = best_row(rows)
        if row is None:
            raise ConfigError(f"search {search!r} has no completed trial to export")
        return Choice(row, pick, "highest target-validation accuracy")
    front = pareto_front(rows)
    if not front:
        raise _no_measures(search, rows, pick)
    size = f"{len(front)} of {len(candidates(rows))} measured trials on the affinity-diversity Pareto front"
    if pick == "pareto":
        return Choice(min(front, key=_by_accuracy), pick, f"most accurate of the {size}")
    return Choice(knee(front), pick, f"knee (closest to the utopia point) of the {size}")
