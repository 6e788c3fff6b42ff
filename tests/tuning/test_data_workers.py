"""A small search whose trials augment in DataLoader worker processes inside Ray's trial processes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from mlflow import MlflowClient

from autoaug.cli import main
from autoaug.config import SearchConfig
from autoaug.modalities import fine_tune_once, get_modality
from autoaug.modalities.image import baseline_policies
from autoaug.records import find_search, trial_runs
from autoaug.vocabulary import TAG_OUTCOME

pytestmark = pytest.mark.slow

SETTINGS = {"backbone": "test_resnet", "weights": "none", "train_size": 120, "epochs": 1, "batch_size": 16,
            "seed": 0}


def test_trials_with_two_data_workers_complete_with_the_single_threaded_result(
    ray_runtime: None, tracking_uri: str, tmp_path: Path
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale]\n")
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in SETTINGS.items()]
    assert main(["search", *flags, "--data-workers", "2", "--trials", "1", "--baselines", "trivial_augment_wide",
                 "--confirm-seeds", "0", "--space", str(space), "--tracking-uri", tracking_uri,
                 "--name", "workers"]) == 0
    client = MlflowClient(tracking_uri)
    parent = find_search(client, "autoaug", "workers")
    assert parent.data.params["data_workers"] == "2"
    runs = {run.info.run_name: run for run in trial_runs(client, parent)}
    assert len(runs) == 2 and all(run.data.tags[TAG_OUTCOME] == "completed" for run in runs.values())

    # The same fine-tune in this process, augmenting on its own thread, gives the trial's scores.
    config = SearchConfig(**SETTINGS)
    image = get_modality("image")
    task = image.load_task(config.data, config.training.seed)
    backbone = image.resolve_backbone(config.model)
    recipe = dataclasses.replace(config.recipe, workers=0)
    policy = baseline_policies()["trivial_augment_wide"]
    result = fine_tune_once(image, task, backbone, "trivial_augment_wide", policy, 0, recipe)
    trial = runs["baseline-trivial_augment_wide"].data.metrics
    assert (result.val_accuracy, result.test_accuracy) == (trial["val_accuracy"], trial["test_accuracy"])
