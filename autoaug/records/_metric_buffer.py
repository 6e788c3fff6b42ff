"""Trial metrics gathered into few ``log_batch`` writes: epochs that come fast are written together."""

from __future__ import annotations

import time
from collections.abc import Callable

from mlflow import MlflowClient
from mlflow.entities import Metric

FLUSH_SECONDS = 1.0
"""How long a run's metrics may wait for others before they are written."""


class MetricBuffer:
    """Holds each run's metrics until ``interval`` seconds have passed since the run's last write.

    A run's first values are written at once, and so is every later batch that comes ``interval`` or
    more after the run's last write; values that follow faster wait for :meth:`flush_due` (the driver
    calls it on every step of its loop), the run's next write or :meth:`flush`. Slow epochs (an image
    fine-tune) thus reach the store as they happen, while a head that trains 20 epochs in a second
    costs two writes, not twenty. Each value keeps the time it was logged at.
    """

    def __init__(
        self, client: MlflowClient, interval: float = FLUSH_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._interval = interval
        self._clock = clock
        self._pending: dict[str, list[Metric]] = {}
        self._written: dict[str, float] = {}

    def add(self, run_id: str, metrics: list[Metric]) -> None:
        """Queue ``metrics`` for ``run_id``, writing the run's queue now if its last write is old enough."""
        self._pending.setdefault(run_id, []).extend(metrics)
        if self._due(run_id):
            self.flush(run_id)

    def flush_due(self) -> None:
        """Write every run's queue whose last write is ``interval`` or more ago."""
        for run_id in [run_id for run_id in self._pending if self._due(run_id)]:
            self.flush(run_id)

    def flush(self, run_id: str) -> None:
        """Write the queue of ``run_id`` now (a run with an empty queue costs nothing)."""
        metrics = self._pending.pop(run_id, [])
        if metrics:
            self._client.log_batch(run_id, metrics=metrics)
            self._written[run_id] = self._clock()

    def _due(self, run_id: str) -> bool:
        last = self._written.get(run_id)
        return last is None or self._clock() - last >= self._interval
