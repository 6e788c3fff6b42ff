"""Early stopping: rungs scaled to the epoch budget, searched trials compared among themselves (real Ray Tune)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ray import cloudpickle, tune

from autoaug.tuning._scheduler import SearchedOnlyASHA, grace_epochs, rungs

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import test modules


@pytest.mark.parametrize(
    ("epochs", "fraction", "factor", "expected"),
    [
        (1, 0.25, 2, []),
        (2, 0.25, 2, [1]),
        (4, 0.25, 2, [1, 2]),
        (12, 0.25, 2, [3, 6]),
        (24, 0.25, 2, [6, 12]),
        (24, 0.25, 3, [6, 18]),
        (20, 0.5, 2, [10]),
        (24, 1.0, 2, []),
    ],
)
def test_rungs_are_a_share_of_the_epoch_budget(epochs: int, fraction: float, factor: int, expected: list[int]) -> None:
    assert rungs(epochs, fraction, factor) == expected
    assert grace_epochs(epochs, fraction) >= 1


class _LastEpoch(tune.Callback):
    """Records, in the driver, the last epoch each trial reported."""

    def __init__(self) -> None:
        self.epochs: dict[float, int] = {}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self.epochs[trial.config["score"]] = int(result["training_iteration"])


def _constant_score(config: dict[str, Any]) -> None:
    for _ in range(8):
        tune.report({"val_accuracy": config["score"]})


def test_searched_trials_stop_at_scaled_rungs_and_baselines_neither_stop_nor_count(
    ray_runtime: None, tmp_path: Path
) -> None:
    # Run one at a time, in this order. The baseline comes first with the best score: were it counted in the
    # rungs, the first searched trial (0.5) would be stopped at epoch 2.
    scores = [0.99, 0.5, 0.9, 0.2, 0.95, 0.3]
    last_epoch = _LastEpoch()
    tuner = tune.Tuner(
        _constant_score,
        param_space={
            "score": tune.grid_search(scores),
            "baseline": tune.sample_from(lambda spec: "none" if spec.config.score == 0.99 else None),
        },
        tune_config=tune.TuneConfig(
            scheduler=SearchedOnlyASHA(epochs=8, grace_fraction=0.25, reduction_factor=2),
            metric="val_accuracy",
            mode="max",
            max_concurrent_trials=1,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="rungs", verbose=0, callbacks=[last_epoch]),
    )
    tuner.fit()
    epochs = last_epoch.epochs
    # Rungs at epochs 2 and 4 (a quarter of 8, then doubled); each keeps the better half of the searched trials
    # seen there so far: 0.2 is below the median of (0.5, 0.9), 0.3 below that of (0.5, 0.9, 0.2, 0.95).
    assert epochs == {0.99: 8, 0.5: 8, 0.9: 8, 0.2: 2, 0.95: 8, 0.3: 2}
