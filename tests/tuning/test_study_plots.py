"""Optuna's importance and parallel-coordinate plots, drawn from real studies."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest
from PIL import Image

from autoaug.errors import ConfigError
from autoaug.tuning import write_stored_study_plots, write_study_plots

FILES = ("param_importances.png", "parallel_coordinate.png")


def _objective(trial: optuna.Trial) -> float:
    """A stacked-space-like objective: a categorical base, a conditional op, a magnitude that matters most."""
    base = trial.suggest_categorical("base", ["none", "rand_augment"])
    magnitude = trial.suggest_float("m", 0.0, 1.0)
    if trial.suggest_int("extra_ops", 0, 1):
        trial.suggest_categorical("extra0", ["rotate", "downscale"])
    return magnitude * 0.5 + (0.05 if base == "rand_augment" else 0.0)


def _study(trials: int, directions: list[str] | None = None, storage: str | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="digits-1", storage=storage, directions=directions or ["maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    objective = _objective if directions is None else (lambda trial: (_objective(trial), trial.params["m"]))
    study.optimize(objective, n_trials=trials)
    return study


def _non_blank(path: Path) -> bool:
    with Image.open(path) as image:
        return image.width > 600 and len(image.convert("L").getcolors(1 << 16) or []) > 10


def test_both_plots_are_drawn_and_the_magnitude_ranks_first(tmp_path: Path) -> None:
    study = _study(12)
    assert write_study_plots(study, tmp_path) == [tmp_path / name for name in FILES]
    assert all(_non_blank(tmp_path / name) for name in FILES)
    assert next(iter(optuna.importance.get_param_importances(study))) == "m"  # what the importance plot ranks first


def test_a_multi_objective_study_is_plotted_on_its_first_objective(tmp_path: Path) -> None:
    assert write_study_plots(_study(8, ["maximize", "minimize"]), tmp_path) == [tmp_path / name for name in FILES]


def test_a_study_too_small_for_importances_leaves_them_out_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="autoaug.plots"):
        written = write_study_plots(_study(1), tmp_path)
    assert tmp_path / "param_importances.png" not in written
    assert "no param_importances.png for study 'digits-1'" in caplog.text


def test_the_stored_study_is_found_by_its_search_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    _study(6, storage=url)
    assert write_stored_study_plots(url, "digits-1", tmp_path / "out") == [tmp_path / "out" / name for name in FILES]
    with pytest.raises(ConfigError, match="holds no study named 'other'"):
        write_stored_study_plots(url, "other", tmp_path / "out")
    with pytest.raises(ConfigError, match="does not exist"):
        write_stored_study_plots(f"sqlite:///{tmp_path}/none.db", "digits-1", tmp_path / "out")

