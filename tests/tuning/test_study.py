"""The search's Optuna study: stored beside a local MLflow store, named after the search, on a real RDB storage."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from autoaug.config import SearchConfig
from autoaug.errors import ConfigError
from autoaug.tuning._study import open_study_storage, study_storage_url


def test_the_study_is_stored_beside_a_local_store_or_where_told(tmp_path: Path) -> None:
    local = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert study_storage_url(None, local) == f"sqlite:///{tmp_path}/mlruns/optuna.db"
    assert study_storage_url(None, "http://127.0.0.1:5000") is None
    given = SearchConfig(study_storage="postgresql://db/optuna").store.study_storage
    assert study_storage_url(given, local) == study_storage_url(given, "http://127.0.0.1:5000") == "postgresql://db/optuna"


def test_a_new_search_may_not_reuse_a_stored_study_name_but_a_resume_does(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    storage = open_study_storage(url, "s1", resume=False)
    assert storage is not None
    optuna.create_study(study_name="s1", storage=storage).optimize(lambda trial: trial.suggest_float("x", 0, 1), 2)
    with pytest.raises(ConfigError, match="already holds a study named 's1'.*--resume s1"):
        open_study_storage(url, "s1", resume=False)
    assert len(optuna.load_study(study_name="s1", storage=open_study_storage(url, "s1", resume=True)).trials) == 2
    assert open_study_storage(url, "s2", resume=False) is not None
    assert open_study_storage(None, "s1", resume=False) is None


def test_a_storage_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    url = f"sqlite:///{tmp_path}/a_file/optuna.db"
    with pytest.raises(ConfigError, match=f"--study-storage {url} cannot be used"):
        open_study_storage(url, "s", resume=False)
