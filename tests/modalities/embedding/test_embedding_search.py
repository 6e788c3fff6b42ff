"""A real small embedding search through the command line: Ray, Optuna, MLflow, the export and load_policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from autoaug import load_policy, tasks
from autoaug.cli import main
from autoaug.modalities.embedding import BatchAugmentation, EmbeddingTask
from autoaug.policy import read_policy
from autoaug.records import find_search, trial_runs
from synthetic import run_without_autoaug

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def news_tiny(small_news: EmbeddingTask) -> Iterator[str]:
    """The session's small news task, registered as ``news-tiny`` for this module only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "_TASKS", dict(tasks._TASKS))
        tasks.register_task(
            "news-tiny", modality="embedding", description="8 posts per group", epochs=5, train_size=120,
            defaults=tasks.get_task("news").defaults,
        )(lambda **settings: small_news)  # fmt: skip
        yield "news-tiny"


@pytest.fixture(scope="module")
def searched(news_tiny: str, ray_runtime: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    folder = tmp_path_factory.mktemp("news-search")
    uri = f"sqlite:///{folder}/mlruns/mlflow.db"
    code = main(["search", "--modality", "embedding", "--task", news_tiny, "--trials", "3", "--confirm-top", "1",
                 "--confirm-seeds", "2", "--tracking-uri", uri, "--name", "news-tiny"])  # fmt: skip
    assert code == 0
    return uri, folder, "news-tiny"


def test_every_baseline_and_searched_trial_is_a_child_run_with_the_embedding_metrics(
    searched: tuple[str, Path, str],
) -> None:
    uri, _, name = searched
    client = MlflowClient(uri)
    runs = trial_runs(client, find_search(client, "autoaug", name))
    assert len(runs) == 5 + 3
    for run in runs:
        metrics = run.data.metrics
        assert {"val_accuracy", "val_macro_f1", "val_macro_auc", "val_ece", "val_unseen_auroc", "affinity"} <= set(metrics)
        assert 0.0 <= metrics["val_unseen_auroc"] <= 1.0 and 0.0 <= metrics["val_ece"] <= 1.0
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"policy.json", "augmented_samples.png"} <= artifacts


def test_the_exported_policy_augments_a_batch_of_embeddings(searched: tuple[str, Path, str]) -> None:
    uri, folder, name = searched
    exported = folder / "best_policy.json"
    assert main(["export", "--name", name, "--tracking-uri", uri, "-o", str(exported)]) == 0
    assert read_policy(exported).modality == "embedding"
    aug = load_policy(exported)
    assert isinstance(aug, BatchAugmentation)
    x_aug, y_soft = aug(torch.randn(8, 384), torch.arange(8) % 17, num_classes=17)
    assert x_aug.shape == (8, 384) and torch.allclose(y_soft.sum(dim=1), torch.ones(8))
    run_without_autoaug(
        exported.with_suffix(".py"),
        "x, y = build_policy()(torch.randn(8, 384), torch.eye(17)[torch.arange(8)])\n"
        "assert x.shape == (8, 384) and torch.allclose(y.sum(dim=1), torch.ones(8))\n",
    )
