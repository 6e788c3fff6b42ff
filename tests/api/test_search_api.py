"""The Python API as a notebook uses it: a real small search on a local Ray runtime, its trials as a DataFrame,
the knee pick exported, loaded and applied, and an evaluation of it, all recorded in a real sqlite MLflow store."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import autoaug
from autoaug.api import resolve_config
from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.policy import read_policy
from autoaug.vocabulary import AFFINITY, DIVERSITY, VAL_ACCURACY

TINY = {"backbone": "test_resnet", "weights": "none", "train_size": 200, "epochs": 1, "concurrency": 2, "seed": 0}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def result(ray_runtime: None, store: Path) -> autoaug.SearchResult:
    space = store / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale, gaussian_blur]\n")
    return autoaug.search(
        task="digits", trials=2, baselines=["none", "trivial_augment_wide"], space=str(space), confirm_top=1,
        confirm_seeds=2, tracking_uri=f"sqlite:///{store}/mlruns/mlflow.db", name="notebook", **TINY,
    )


@pytest.mark.slow
def test_a_search_returns_its_trials_as_rows_and_a_dataframe(result: autoaug.SearchResult) -> None:
    assert result.name == "notebook" and result.finished and result.status == "finished"
    assert len(result.parent_run_id) == 32 and result.seconds and result.seconds > 0
    assert result.config is not None and result.config.search.trials == 2
    table = result.to_pandas()
    assert len(table) == len(result.rows) == 4  # two baselines, two searched trials
    assert list(table.columns[:3]) == ["name", "outcome", "baseline"]
    assert list(table.columns[-3:]) == ["policy", "reason", "run_id"]
    assert {VAL_ACCURACY, AFFINITY, DIVERSITY, "test_accuracy"} <= set(table.columns)
    assert list(table["name"]) == [row.name for row in result.rows]
    assert set(table["baseline"].dropna()) == {"none", "trivial_augment_wide"}
    assert table[VAL_ACCURACY].tolist() == [row.metrics[VAL_ACCURACY] for row in result.rows]
    assert all(isinstance(policy, str) and policy for policy in table["policy"])


@pytest.mark.slow
def test_the_picks_and_the_verdict_are_those_export_uses(result: autoaug.SearchResult) -> None:
    assert result.selection is not None and result.verdict == result.selection.verdict()
    assert result.best is not None and result.best.name == result.selection.pick
    assert result.best.run_id == result.pick_run_id
    assert result.knee is not None and result.knee == result.choose("knee").row
    assert math.isfinite(result.knee.metrics[AFFINITY]) and math.isfinite(result.knee.metrics[DIVERSITY])
    read_back = autoaug.trials("notebook", tracking_uri=result.tracking_uri)
    assert read_back.rows == result.rows and read_back.best == result.best and read_back.knee == result.knee
    assert read_back.verdict == result.verdict and read_back.seconds is None and read_back.config is None


@pytest.mark.slow
def test_the_knee_pick_is_exported_loaded_and_applied(result: autoaug.SearchResult, tmp_path: Path) -> None:
    exported = autoaug.export(result, tmp_path / "knee.json", pick="knee")
    assert exported.search == "notebook" and exported.choice.row == result.knee
    assert exported.path == tmp_path / "knee.json" and exported.snippet == tmp_path / "knee.py"
    assert "def build_policy(" in exported.snippet.read_text()
    assert read_policy(exported.path) == exported.policy
    assert exported.policy.metadata is not None and exported.policy.metadata.trial == result.knee.name
    assert exported.policy.metadata.pick == "knee" and exported.policy.metadata.run_id == result.knee.run_id
    transform = autoaug.load_policy(exported.path)
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    augmented = transform(Image.fromarray(pixels))
    assert isinstance(augmented, Image.Image) and augmented.size == (32, 32)


@pytest.mark.slow
def test_an_exported_policy_is_evaluated_against_a_baseline(result: autoaug.SearchResult, tmp_path: Path) -> None:
    exported = autoaug.export(result, tmp_path / "best.json")
    output = tmp_path / "evaluation.json"
    outcome = autoaug.evaluate(
        exported.path, baselines=["none"], seeds=[0, 1], output_json=output, plot=tmp_path / "evaluation.png",
        tracking_uri=result.tracking_uri, image_size=16, **{**TINY, "train_size": 60},
    )
    assert [stats.policy for stats in outcome.stats] == ["best", "none"]
    assert all(stats.seeds == (0, 1) and 0.0 <= stats.mean <= 1.0 for stats in outcome.stats)
    assert [(c.policy, c.baseline) for c in outcome.comparisons] == [("best", "none")]
    assert "best" in outcome.table and len(outcome.run_id) == 32
    assert json.loads(output.read_text())["mlflow"]["run_id"] == outcome.run_id


def test_a_configuration_is_an_object_a_file_or_keywords(tmp_path: Path) -> None:
    config_file = tmp_path / "search.yaml"
    config_file.write_text("version: 1\ntask: digits\ntrials: 3\nepochs: 2\n")
    from_file = resolve_config(config_file, {"trials": 5})
    assert (from_file.data.task, from_file.search.trials, from_file.training.epochs) == ("digits", 5, 2)
    given = SearchConfig(trials=3, epochs=2)
    assert resolve_config(given, {}) is given
    changed = resolve_config(given, {"trials": 7, "name": "n"})
    assert (changed.search.trials, changed.training.epochs, changed.name) == (7, 2, "n")
    with pytest.raises(ConfigError, match="trails: unknown key"):
        resolve_config(None, {"trails": 4})


def test_a_search_is_checked_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="leave --config out"):
        autoaug.search(tmp_path / "search.yaml", resume="earlier")
    with pytest.raises(ConfigError, match="no MLflow store"):
        autoaug.trials("missing", tracking_uri=f"sqlite:///{tmp_path}/none.db")
    assert list(tmp_path.iterdir()) == []


def test_the_api_names_load_nothing_heavy() -> None:
    code = (
        "import sys, autoaug; functions = (autoaug.search, autoaug.evaluate, autoaug.export, autoaug.trials); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'ray', 'mlflow', 'optuna', 'pandas'}))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"



def test_the_api_functions_are_not_shadowed_by_the_layers_below() -> None:
    from autoaug import api
    from autoaug.evaluation import run_evaluation
    from autoaug.tuning import run_search

    assert autoaug.search is api.search and autoaug.evaluate is api.evaluate
    assert run_search.__module__ == "autoaug.tuning._driver" and run_evaluation.__module__ == "autoaug.evaluation._run"
