"""One full small search through the CLI on a real local Ray runtime, MLflow store and Optuna study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient
from PIL import Image

from autoaug.cli import main
from autoaug.measures import MEASURES
from autoaug.ops import _registry, register_op
from autoaug.policy import load_policy
from autoaug.tracking import TAG_OUTCOME, TAG_REASON, find_search, trial_runs

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


def test_parent_run_gets_the_plots_when_the_search_ends(finished_search: tuple[str, Path]) -> None:
    uri, _ = finished_search
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "e2e")
    listed = {f.path for f in client.list_artifacts(parent.info.run_id, "plots")}
    assert listed == {"plots/affinity_diversity.png", "plots/accuracy_over_trials.png", "plots/best_policy_samples.png"}


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
    transform = load_policy(output)
    image = Image.new("RGB", (32, 32), color=(120, 30, 200))
    assert transform(image).size == (32, 32)
    tensor = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    assert transform(tensor).shape == (3, 32, 32)
    script = (
        "import sys, torch\nsys.modules['autoaug'] = None\n"
        f"exec(open({str(output.with_suffix('.py'))!r}).read())\n"
        "out = build_policy()(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))\n"
        "assert out.shape == (3, 32, 32) and out.dtype == torch.uint8\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


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
