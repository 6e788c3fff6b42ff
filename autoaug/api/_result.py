"""``SearchResult``: a search as its records hold it, its trials as rows or a DataFrame, and its picks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoaug.config import SearchConfig
from autoaug.results import Choice, Selection, TrialRow, best_row, candidates, choose

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class SearchResult:
    """A search: its trials, best first, and where they are recorded.

    ``autoaug.search`` returns one when the search ends, ``autoaug.trials`` reads one from the records.

    Attributes:
        name: The search's name (``--name``; its MLflow parent run's name).
        parent_run_id: The MLflow parent run; each trial is a child run of it.
        tracking_uri: The MLflow store holding the runs.
        experiment: The MLflow experiment.
        rows: The trials (baselines included), best first: completed by target-validation accuracy, then
            pruned, failed and running ones.
        status: The parent run's status in lower case: ``running``, ``finished``, ``killed`` or ``failed``.
        finished: Whether every trial ended (``autoaug.search(resume=name)`` continues a search that did not).
        verdict: The confirmation stage's verdict on fresh seeds (None without a confirmation stage).
        pick_run_id: The run of the confirmation stage's pick (None without one).
        seconds: How long the search ran (None when read from the records).
        selection: The confirmation stage's decision in full (only on the result ``autoaug.search`` returns).
        config: The settings the search ran with (only on the result ``autoaug.search`` returns).

    Example:
        >>> result = autoaug.trials("digits-demo")  # doctest: +SKIP
        >>> result.to_pandas()[["name", "outcome", "val_accuracy", "policy"]].head()  # doctest: +SKIP
        >>> result.best.name, result.knee.name  # doctest: +SKIP
        ('trial-007', 'trial-003')
    """

    name: str
    parent_run_id: str
    tracking_uri: str
    experiment: str
    rows: tuple[TrialRow, ...]
    status: str
    finished: bool
    verdict: str | None = None
    pick_run_id: str | None = None
    seconds: float | None = None
    selection: Selection | None = None
    config: SearchConfig | None = None

    def choose(self, pick: str = "best") -> Choice:
        """The trial ``pick`` selects, and why, as ``autoaug export --pick`` chooses it.

        Args:
            pick: ``best`` (the confirmation stage's pick, else the highest target-validation accuracy),
                ``pareto`` (the most accurate trial on the affinity-diversity Pareto front) or ``knee`` (the
                front point closest to the utopia point).

        Raises:
            ConfigError: For an unknown pick, no completed trial, or (pareto, knee) no trial with both measures.
        """
        confirmed = (self.pick_run_id, self.verdict or "") if self.pick_run_id else None
        return choose(list(self.rows), pick, self.name, confirmed)

    @property
    def best(self) -> TrialRow | None:
        """The ``best`` pick: the confirmed trial, else the most accurate one; None when no trial completed."""
        return self.choose("best").row if best_row(list(self.rows)) else None

    @property
    def knee(self) -> TrialRow | None:
        """The ``knee`` pick on the affinity-diversity trade-off; None when no completed trial has both measures."""
        return self.choose("knee").row if candidates(list(self.rows)) else None

    def to_pandas(self) -> pandas.DataFrame:
        """The trials as a DataFrame, one row per trial, best first.

        Columns: ``name``, ``outcome``, ``baseline`` (its name, or None for a searched policy), every metric
        recorded on any trial (NaN where a trial lacks it), ``policy`` (the policy's headline), ``reason`` (why a
        trial failed) and ``run_id``.
        """
        import pandas  # here: pandas (installed with MLflow) loads only when a table is asked for

        metrics = sorted({name for row in self.rows for name in row.metrics})
        columns = ["name", "outcome", "baseline", *metrics, "policy", "reason", "run_id"]
        records: list[dict[str, Any]] = [
            {"name": row.name, "outcome": row.outcome, "baseline": row.baseline, **row.metrics, "policy": row.policy,
             "reason": row.reason, "run_id": row.run_id}
            for row in self.rows
        ]
        return pandas.DataFrame.from_records(records, columns=columns)
