from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autoaug.config import NAME_RULE, SearchConfig, load_config
from autoaug.errors import ConfigError
from autoaug.tasks import get_task


def test_defaults_run_the_builtin_task() -> None:
    config = load_config()
    assert config.data.task == "digits"
    assert config.store.tracking_uri == "sqlite:///mlruns/mlflow.db"
    assert config.search_name().startswith("digits-")


def test_flags_override_file_which_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ntrials: 7\nepochs: 3\n")
    config = load_config(path, {"trials": 2, "epochs": None})
    assert (config.search.trials, config.training.epochs) == (2, 3)
    assert config.training.batch_size == SearchConfig().training.batch_size


@pytest.mark.parametrize(
    ("task", "epochs", "train_size"), [("digits", 2, 2000), ("printed", 8, 500), ("mnist-fewshot", 24, 250)]
)
def test_epochs_and_train_size_default_to_the_task(task: str, epochs: int, train_size: int) -> None:
    config = load_config(overrides={"task": task})
    assert (config.training.epochs, config.data.train_size) == (epochs, train_size)
    assert (get_task(task).epochs, get_task(task).train_size) == (epochs, train_size)
    assert isinstance(config.training.epochs, int)


def test_folders_task_takes_the_field_defaults() -> None:
    config = load_config(overrides={"task": "folders", "train_dir": "a", "val_dir": "b"})
    assert (config.training.epochs, config.data.train_size) == (2, 2000)


def test_task_defaults_give_way_to_the_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ntask: mnist-fewshot\nepochs: 5\n")
    assert (load_config(path).training.epochs, load_config(path).data.train_size) == (5, 250)
    assert load_config(path, {"epochs": 7, "train_size": 500}).training.epochs == 7
    assert load_config(path, {"task": "printed"}).training.epochs == 5
    assert load_config(overrides={"task": "mnist-fewshot", "epochs": 1}).training.epochs == 1
    assert SearchConfig(task="mnist-fewshot").training.epochs == 24


def test_unknown_task_names_the_close_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"task: .*unknown task 'mnist-fewshop' \(did you mean 'mnist-fewshot'\?\); "
                       r"built-in tasks: digits, printed, mnist-fewshot, news, digits-embed, files; or 'folders'"):
        load_config(overrides={"task": "mnist-fewshop"})


def test_relative_paths_are_taken_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ntask: folders\ntrain_dir: data/train\nval_dir: data/val\nspace: my_space.yaml\n")
    config = load_config(path)
    assert config.data.train_dir == tmp_path / "data" / "train"
    assert config.search.space == str(tmp_path / "my_space.yaml")


def test_unknown_key_is_an_error_listing_allowed_keys(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ntrails: 7\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "trails: unknown key" in message and "trials" in message and str(path) in message


def test_folders_task_needs_its_directories() -> None:
    with pytest.raises(ConfigError, match="train_dir and val_dir"):
        load_config(overrides={"task": "folders"})


@pytest.mark.parametrize(
    ("key", "value"), [("trials", -1), ("concurrency", 0), ("task", "imagenet"), ("name", "a b"), ("data_workers", -1)]
)
def test_bad_values_are_rejected_with_the_field_named(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"{key}:"):
        load_config(overrides={key: value})


def test_multi_objective_turns_early_stopping_off_and_rejects_asking_for_it() -> None:
    assert load_config(overrides={"objective": "multi"}).search.objective == "multi"
    with pytest.raises(ConfigError, match="early_stopping needs objective 'accuracy'"):
        load_config(overrides={"objective": "multi", "early_stopping": True})
    with pytest.raises(ConfigError, match="objective: Input should be 'accuracy' or 'multi'"):
        load_config(overrides={"objective": "pareto"})


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a'b", "-x"])
def test_config_names_follow_the_one_name_rule(tmp_path: Path, name: str) -> None:
    path = tmp_path / "search.yaml"
    path.write_text(f"version: 1\nname: {json.dumps(name)}\n")
    with pytest.raises(ConfigError, match=f"name: .*{re.escape(NAME_RULE)}"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("epochs: true", "epochs: Value error, expected a number, got True"),
        ("lr: false", "lr: Value error, expected a number, got False"),
        ("version: true", "version: Value error, expected a number, got True"),
        ("epochs: 1.0", "epochs: Value error, expected a whole number such as 1, got 1.0"),
        ("trials: 2.5", "trials: Value error, expected a whole number"),
    ],
)
def test_numbers_are_numbers(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "search.yaml"
    path.write_text(f"version: 1\n{text}\n" if not text.startswith("version") else f"{text}\n")
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path)


def test_yaml_numbers_that_pydantic_reads_still_load(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\nlr: 1e-3\ncpus_per_trial: 2\nepochs: 3\n")  # YAML reads 1e-3 as a string
    config = load_config(path)
    assert (config.training.lr, config.training.cpus_per_trial, config.training.epochs) == (0.001, 2.0, 3)


def test_a_grouped_version_2_file_loads_as_its_flat_version_1_twin(tmp_path: Path) -> None:
    flat, grouped = tmp_path / "flat.yaml", tmp_path / "grouped.yaml"
    flat.write_text("version: 1\ntask: printed\ntrials: 5\nconcurrency: 1\ntracking_uri: sqlite:///x.db\n")
    grouped.write_text("version: 2\ndata: {task: printed}\nsearch: {trials: 5}\ncluster: {concurrency: 1}\n"
                       "store: {tracking_uri: 'sqlite:///x.db'}\n")
    assert load_config(flat).model_copy(update={"version": 2}) == load_config(grouped)
    assert load_config(grouped, {"trials": 6}).search.trials == 6
    assert SearchConfig.model_validate(load_config(grouped).model_dump(mode="json")) == load_config(grouped)


def test_the_recipe_and_the_resources_come_from_the_settings() -> None:
    config = load_config(overrides={"epochs": 3, "lr": 0.01, "seed": 7, "cpus_per_trial": 2.5, "gpus_per_trial": 0.5,
                                    "data_workers": 3})
    assert (config.recipe.epochs, config.recipe.lr, config.recipe.seed, config.recipe.threads) == (3, 0.01, 7, 2)
    assert config.recipe.workers == 3 and load_config().recipe.workers is None  # None: the default, per fine-tune
    assert config.resources == {"cpu": 2.5, "gpu": 0.5}


def test_an_unknown_modality_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"data.modality: .*unknown modality 'audio': expected one with registered "
                       r"tasks \(embedding, image\)"):
        load_config(overrides={"modality": "audio"})


def test_tracking_uri_from_flag_then_file_then_environment_then_the_local_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_config().store.tracking_uri == "sqlite:///mlruns/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert load_config().store.tracking_uri == "http://127.0.0.1:5999"
    assert SearchConfig(experiment="other").store.tracking_uri == "http://127.0.0.1:5999"
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ntracking_uri: sqlite:///file.db\n")
    assert load_config(path).store.tracking_uri == "sqlite:///file.db"
    assert load_config(path, {"tracking_uri": "sqlite:///flag.db"}).store.tracking_uri == "sqlite:///flag.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert load_config().store.tracking_uri == "sqlite:///mlruns/mlflow.db"
