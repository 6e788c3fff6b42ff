"""Trial metrics written in batches: fast epochs wait, slow ones go at once, and none is lost or doubled."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from autoaug.modalities.image import baseline_policies
from autoaug.records import SearchTracker
from autoaug.records._metric_buffer import MetricBuffer
from autoaug.records._store import metric_batch


class Clock:
    """A time source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _steps(client: MlflowClient, run_id: str) -> list[int]:
    return sorted(metric.step for metric in client.get_metric_history(run_id, "val_accuracy"))


def test_fast_epochs_wait_for_the_interval_and_slow_ones_are_written_at_once(tracking_uri: str) -> None:
    client = MlflowClient(tracking_uri)
    run_id = client.create_run(client.create_experiment("buffer")).info.run_id
    clock = Clock()
    buffer = MetricBuffer(client, interval=1.0, clock=clock)
    buffer.add(run_id, metric_batch({"val_accuracy": 0.1}, step=1))
    assert _steps(client, run_id) == [1]  # a run's first values go at once
    for step in (2, 3, 4):
        clock.now += 0.2
        buffer.add(run_id, metric_batch({"val_accuracy": 0.1 * step}, step=step))
    assert _steps(client, run_id) == [1]  # 0.6 s after the last write: they wait
    buffer.flush_due()
    assert _steps(client, run_id) == [1]
    clock.now += 0.5  # 1.1 s after the last write: the driver's next step writes them
    buffer.flush_due()
    assert _steps(client, run_id) == [1, 2, 3, 4]
    clock.now += 5.0  # a slow epoch is written as it comes
    buffer.add(run_id, metric_batch({"val_accuracy": 0.5}, step=5))
    assert _steps(client, run_id) == [1, 2, 3, 4, 5]
    clock.now += 0.1
    buffer.add(run_id, metric_batch({"val_accuracy": 0.6}, step=6))
    buffer.flush(run_id)
    buffer.flush(run_id)  # an empty queue writes nothing
    history = client.get_metric_history(run_id, "val_accuracy")
    assert sorted((m.step, m.value) for m in history) == [(s, pytest.approx(0.1 * s)) for s in range(1, 7)]


def test_a_trial_that_trains_fast_keeps_every_epoch_once(tracking_uri: str) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "fast")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.start_trial("t0", "baseline-none", baseline_policies()["none"], {}, None, baseline="none")
    for epoch in range(1, 21):
        tracker.log_metrics("t0", {"val_accuracy": epoch / 20, "train_loss": 1 / epoch}, step=epoch)
    tracker.end_trial("t0", "completed")
    run = tracker.trial_runs()[0]
    assert _steps(tracker.client, run.info.run_id) == list(range(1, 21))
    assert run.data.metrics["val_accuracy"] == 1.0
    assert "target-validation accuracy 1.000" in run.data.tags["mlflow.note.content"]
