"""One full small search through the CLI on a real local Ray runtime, MLflow store and Optuna study."""

from __future__ import annotations

import csv
import importlib.metadata
import json
import statistics
import subprocess
from pathlib import Path

import optuna
import pandas
import pytest
import torch
from mlflow import MlflowClient
from PIL import Image

import autoaug
from autoaug import load_policy
from autoaug.cli import main
from autoaug.config import DataConfig
from autoaug.measures import MEASURES
from autoaug.modalities import get_modality
from autoaug.ops import _registry, register_op
from autoaug.records import (
    CONFIRMATION_ARTIFACT,
    TRIAL_COLUMNS,
    TRIALS_TABLE,
    VIEW_KEY,
    attempts,
    find_search,
    runs_page,
    trial_runs,
)
from autoaug.vocabulary import (
    TAG_HEADLINE,
    TAG_OUTCOME,
    TAG_PICK,
    TAG_PICK_RUN,
    TAG_REASON,
    TAG_REPEAT_OF,
    TAG_ROLE,
    TAG_VERDICT,
)
from synthetic import run_without_autoaug

pytestmark = pytest.mark.slow

TINY = ["--backbone", "test_resnet", "--weights", "none", "--train-size", "200", "--epochs", "2",
        "--concurrency", "2", "--seed", "0"]


def explode_for_test(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
    raise RuntimeError("explode_for_test: this op always fails")


@pytest.fixture(scope="module")
def finished_search(ray_runtime: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("search")
    space = root / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale, gaussian_blur]\n")
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    code = main(["search", *TINY, "--trials", "2", "--baselines", "none", "trivial_augment_wide",
                 "--space", str(space), "--tracking-uri", uri, "--name", "e2e"])
    assert code == 0
    return uri, root


def test_search_leaves_parent_and_child_runs_with_artifacts(finished_search: tuple[str, Path]) -> None:
    uri, _ = finished_search
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "e2e")
    assert parent.info.status == "FINISHED"
    parent_files = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert {"config.yaml", "search_space.yaml", "trials.csv", "best_policy.json"} <= parent_files
    children = trial_runs(client, parent)
    assert len(children) == 4
    assert {run.info.run_name for run in children} >= {"baseline-none", "baseline-trivial_augment_wide"}
    for run in children:
        assert run.info.status == "FINISHED"
        expected = {"completed"} if "autoaug.baseline" in run.data.tags else {"completed", "pruned"}
        assert run.data.tags[TAG_OUTCOME] in expected  # early stopping never stops a baseline
        assert "val_accuracy" in run.data.metrics and "train_loss" in run.data.metrics
        assert set(MEASURES) <= set(run.data.metrics)  # a trial stopped early has them too
        files = {f.path for f in client.list_artifacts(run.info.run_id)}
        assert {"policy.json", "augmented_samples.png"} <= files
    completed = [run for run in children if run.data.tags[TAG_OUTCOME] == "completed"]
    assert completed
    for run in completed:
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in history] == [1, 2]
        assert 0.0 <= run.data.metrics["test_accuracy"] <= 1.0


def test_the_confirmation_stage_repeats_candidates_and_baselines_on_fresh_seeds(
    finished_search: tuple[str, Path],
) -> None:
    uri, root = finished_search
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "e2e")
    record = json.loads(Path(client.download_artifacts(parent.info.run_id, CONFIRMATION_ARTIFACT, str(root)))
                        .read_text())
    assert record["seeds"] == [1000, 1001, 1002]  # seed 0 + 1000...: neither the search's nor evaluate's seeds
    trials = {run.info.run_name: run for run in trial_runs(client, parent)}
    assert len(trials) == 4  # the repeats are nested under their trials, not trials of the search
    completed_searched = [name for name, run in trials.items()
                          if "autoaug.baseline" not in run.data.tags and run.data.tags[TAG_OUTCOME] == "completed"]
    assert set(record["run_ids"]) == {"baseline-none", "baseline-trivial_augment_wide", *completed_searched}
    for name, run_id in record["run_ids"].items():
        repeats = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run_id}'")
        assert sorted(int(r.data.params["seed"]) for r in repeats) == record["seeds"]
        assert all(r.data.tags[TAG_ROLE] == "repeat" and r.data.tags[TAG_REPEAT_OF] == name for r in repeats)
        assert all(r.info.status == "FINISHED" for r in repeats)
        values = [r.data.metrics["val_accuracy"] for r in repeats]
        assert client.get_run(run_id).data.metrics["confirm_val_accuracy_mean"] == pytest.approx(statistics.fmean(values))
        assert record["mean"][name] == pytest.approx(statistics.fmean(values))
    tags = parent.data.tags
    assert tags[TAG_PICK] == record["pick"] and tags[TAG_PICK_RUN] == record["run_ids"][record["pick"]]
    assert tags[TAG_VERDICT] == record["verdict"]
    assert tags["best_policy"] == trials[record["pick"]].data.tags["policy"]
    best = max(("baseline-none", "baseline-trivial_augment_wide"), key=lambda name: record["mean"][name])
    assert record["best_baseline"] == best
    for name, gap in record["paired_gap"].items():  # seed by seed, against the best baseline
        by_seed = record["val_accuracy"]
        differences = [by_seed[name][seed] - by_seed[best][seed] for seed in by_seed[best]]
        assert gap["mean"] == pytest.approx(statistics.fmean(differences))
        assert gap["std"] == pytest.approx(statistics.stdev(differences))


def test_parent_run_gets_the_plots_when_the_search_ends(finished_search: tuple[str, Path]) -> None:
    uri, _ = finished_search
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "e2e")
    listed = {f.path for f in client.list_artifacts(parent.info.run_id, "plots")}
    assert listed == {
        "plots/affinity_diversity.png", "plots/accuracy_over_trials.png", "plots/best_policy_samples.png",
        "plots/param_importances.png", "plots/parallel_coordinate.png",
    }


def test_plots_command_draws_the_stored_study(finished_search: tuple[str, Path], tmp_path: Path) -> None:
    uri, _ = finished_search
    assert main(["plots", "--name", "e2e", "--tracking-uri", uri, "-o", str(tmp_path)]) == 0
    for name in ("param_importances.png", "parallel_coordinate.png"):
        with Image.open(tmp_path / name) as image:
            assert image.width > 600 and len(image.convert("L").getcolors(1 << 16) or []) > 10


def test_trials_command_prints_the_ranked_table(
    finished_search: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, _ = finished_search
    assert main(["trials", "--name", "e2e", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "baseline-none" in out and "val_accuracy" in out


def test_export_writes_a_policy_that_loads_and_a_torchvision_only_snippet(finished_search: tuple[str, Path]) -> None:
    uri, root = finished_search
    output = root / "best_policy.json"
    assert main(["export", "--tracking-uri", uri, "--output", str(output)]) == 0
    parent = find_search(MlflowClient(uri), "autoaug", "e2e")
    metadata = json.loads(output.read_text())["metadata"]
    assert metadata["trial"] == parent.data.tags[TAG_PICK]  # the confirmed pick, not the luckiest trial
    assert metadata["verdict"] == parent.data.tags[TAG_VERDICT]
    transform = load_policy(output)
    image = Image.new("RGB", (32, 32), color=(120, 30, 200))
    assert transform(image).size == (32, 32)
    tensor = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    assert transform(tensor).shape == (3, 32, 32)
    run_without_autoaug(
        output.with_suffix(".py"),
        "out = build_policy()(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))\n"
        "assert out.shape == (3, 32, 32) and out.dtype == torch.uint8\n",
    )


def test_a_stacked_space_search_starts_from_the_baselines_and_optuna_agrees_with_mlflow(
    ray_runtime: None, tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("version: 1\nname: st\nstructure: stacked\nbases: [none, trivial_augment_wide]\n"
                     "ops: [rotate, downscale]\n")
    code = main(["search", *TINY, "--trials", "3", "--baselines", "none", "trivial_augment_wide", "--space",
                 str(space), "--confirm-seeds", "2", "--confirm-top", "1", "--tracking-uri", tracking_uri,
                 "--name", "stacked"])
    assert code == 0
    out = capsys.readouterr().out
    assert "disagree" not in out and "target matching: " in out
    client = MlflowClient(tracking_uri)
    parent = find_search(client, "autoaug", "stacked")
    match = json.loads(Path(client.download_artifacts(parent.info.run_id, "target_match.json", str(tmp_path))).read_text())
    assert {name for name, _, _ in match["singles"]} == {"rotate", "downscale"} and len(match["chain"]) <= 3
    assert parent.data.metrics["target_match_gain"] == pytest.approx(match["gain"])
    view = json.loads(Path(client.download_artifacts(parent.info.run_id, "optuna_trials.json", str(tmp_path)))
                      .read_text())
    warm = {entry["baseline"]: entry for entry in view if entry["baseline"]}
    runs = {run.info.run_name: run for run in trial_runs(client, parent)}
    assert set(warm) == {"none", "trivial_augment_wide"}
    for name, entry in warm.items():  # told to the sampler with the baseline run's own score
        assert entry["state"] == "COMPLETE" and entry["tune_trial_id"] is None
        assert entry["values"] == [pytest.approx(runs[f"baseline-{name}"].data.metrics["val_accuracy"])]
    assert sum(entry["baseline"] is None for entry in view) == 3
    stored = optuna.load_study(study_name="stacked", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db")
    assert [(trial.state.name, trial.values) for trial in stored.trials] == [(e["state"], e["values"]) for e in view]
    assert stored.metric_names == ["val_accuracy"]  # named for optuna-dashboard and Optuna's plots
    again = main(["search", *TINY, "--space", str(space), "--tracking-uri", tracking_uri, "--name", "stacked"])
    assert again == 2 and "already holds a study named 'stacked'" in capsys.readouterr().err
    assert len(client.search_runs([parent.info.experiment_id], "attributes.run_name = 'stacked'")) == 1


def test_a_crashing_trial_is_recorded_as_failed_and_the_search_goes_on(
    ray_runtime: None, tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))  # keep the test op out of other tests
    register_op("explode_for_test", uses_magnitude=False, description="always raises")(explode_for_test)
    space = tmp_path / "space.yaml"
    space.write_text("version: 1\nname: crash\nstructure: rand\nops: [explode_for_test]\nnum_ops: [1, 1]\n")
    code = main(["search", *TINY, "--trials", "1", "--baselines", "none", "--space", str(space),
                 "--tracking-uri", tracking_uri, "--name", "crash"])
    assert code == 0
    client = MlflowClient(tracking_uri)
    runs = {run.info.run_name: run for run in trial_runs(client, find_search(client, "autoaug", "crash"))}
    assert runs["baseline-none"].data.tags[TAG_OUTCOME] == "completed"
    failed = runs["trial-000"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags[TAG_OUTCOME] == "failed"
    assert "explode_for_test: this op always fails" in failed.data.tags[TAG_REASON]
    earlier = attempts(client, failed)  # each retry ran in a fresh run; the earlier ones lie beneath the last
    assert [run.info.run_name for run in earlier] == ["trial-000-attempt1", "trial-000-attempt2"]
    for run in earlier:
        assert run.info.status == "FAILED" and "explode_for_test: this op always fails" in run.data.tags[TAG_REASON]
        assert run.data.tags[TAG_REASON].endswith("the trial ran again from its first epoch in a new run")
    progress = capsys.readouterr().out
    none_score = runs["baseline-none"].data.metrics["val_accuracy"]
    failed_line = next(line for line in progress.splitlines() if line.startswith("[") and "trial-000" in line)
    none_line = next(line for line in progress.splitlines() if "baseline-none" in line)
    assert "failed" in failed_line
    assert failed_line.endswith((f"best so far {none_score:.3f})", "best so far -)"))  # a failed trial never counts
    assert none_line.endswith(f"best so far {none_score:.3f})")


def test_unknown_backbone_is_reported_before_anything_starts(
    tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--backbone", "resnet181", "--tracking-uri", tracking_uri]) == 2
    error = capsys.readouterr().err
    assert "resnet181" in error and "resnet18" in error


def test_the_runs_follow_mlflow_conventions_descriptions_datasets_table_and_source(
    finished_search: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _ = finished_search
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "e2e")
    trials = trial_runs(client, parent)
    # The experiment: model training, with the shared view of the trials' columns the UI opens with runs_page.
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    view = json.loads(experiment.tags[f"mlflow.sharedViewState.{VIEW_KEY}"])
    assert view["selectedColumns"] == list(TRIAL_COLUMNS) and view["searchFilter"] == "tags.`autoaug.role` = 'trial'"
    assert f"viewStateShareKey={VIEW_KEY}" in runs_page(experiment.experiment_id)
    for column in TRIAL_COLUMNS:  # every metric and tag column of the view is filled on every completed trial
        kind, key = column.split(".", 1)
        values = {"metrics": "metrics", "tags": "tags"}.get(kind)
        if values:
            assert all(key.strip("`") in getattr(run.data, values) for run in trials
                       if run.data.tags[TAG_OUTCOME] == "completed"), column
    # Descriptions: the search's result, verdict and budget; each trial's headline and outcome.
    note = parent.data.tags["mlflow.note.content"]
    pick = parent.data.tags[TAG_PICK]
    assert note.startswith("**Search `e2e`**: finished.") and f"**Result**: {pick}, target-validation accuracy" in note
    assert f"**Verdict against the baselines**: {parent.data.tags[TAG_VERDICT]}" in note
    assert "**Budget**: 2 searched trials and 2 baselines, 2 epochs each, backbone `test_resnet`, task `digits`" in note
    for run in trials:
        tags = run.data.tags
        described = tags["mlflow.note.content"]
        assert described.startswith(f"**{run.info.run_name}** of search `e2e`: {tags[TAG_HEADLINE]}")
        assert f"Outcome: **{tags[TAG_OUTCOME]}**: target-validation accuracy {run.data.metrics['val_accuracy']:.3f}" in described
    # Datasets: the training and target splits on the parent and every trial, their digests the data's own.
    task = get_modality("image").load_task(DataConfig(train_size=200), seed=0)
    expected = {(data.name, data.digest, data.context) for data in get_modality("image").data_inputs(task, DataConfig())}
    assert {name for name, _, _ in expected} == {"digits-training", "digits-target"}
    for run in [client.get_run(parent.info.run_id), *trials]:
        inputs = run.inputs.dataset_inputs
        assert {(item.dataset.name, item.dataset.digest, item.tags[0].value) for item in inputs} == expected
        assert all(item.dataset.source_type == "code" and "digits" in item.dataset.source for item in inputs)
        rows = {item.dataset.name: json.loads(item.dataset.profile)["rows"] for item in inputs}
        assert rows == {"digits-training": 200, "digits-target": len(task.val)}
    # The trials table as a table artifact, the same rows as trials.csv.
    assert json.loads(parent.data.tags["mlflow.loggedArtifacts"]) == [{"path": TRIALS_TABLE, "type": "table"}]
    table = pandas.read_json(client.download_artifacts(parent.info.run_id, TRIALS_TABLE, str(tmp_path)), orient="split")
    csv_path = client.download_artifacts(parent.info.run_id, "trials.csv", str(tmp_path))
    with open(csv_path, newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert list(table.columns[:4]) == ["rank", "trial", "outcome", "val_accuracy"]
    assert set(table.columns) == set(listed[0]) and list(table["trial"]) == [row["trial"] for row in listed]
    assert list(table["val_accuracy"]) == pytest.approx([round(float(row["val_accuracy"]), 4) for row in listed])
    # Source and version: MLflow's own source tags, the checkout's commit and autoaug's version on every run.
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(autoaug.__file__).parent).stdout.strip()
    for run in [parent, *trials]:
        tags = run.data.tags
        assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"]
        assert tags["autoaug.version"] == importlib.metadata.version("autoaug")
        assert tags.get("mlflow.source.git.commit") == (commit or None)
