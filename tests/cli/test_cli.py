"""Bad input reaches the user as one clear line from the CLI, before any worker starts."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autoaug.api import SearchResult
from autoaug.cli import build_parser, config_overrides, main
from autoaug.cli._report import final_report
from autoaug.modalities.image import baseline_policies
from autoaug.ops import list_ops
from autoaug.policy import read_policy
from autoaug.records import SearchTracker
from autoaug.results import TrialRow


def _folder(root: Path, classes: dict[str, int]) -> Path:
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = np.random.default_rng(index).integers(0, 255, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def _error_of(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["search", "trials", "export", "plots", "evaluate", "ui", "dashboard", "ops", "preview"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 3


def test_search_flags_cover_every_config_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    out = capsys.readouterr().out
    for flag in ("--trials", "--backbone", "--weights", "--space", "--concurrency", "--gpus-per-trial",
                 "--tracking-uri", "--address", "--no-early-stopping", "--train-dir"):
        assert flag in out


def test_epochs_flag_defaults_to_the_task(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("search", "evaluate"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "mnist-fewshot 24, folders 2) (default: the task's)" in help_text
    args = build_parser().parse_args(["search", "--task", "mnist-fewshot", "--epochs", "3"])
    assert config_overrides(args) == {"task": "mnist-fewshot", "epochs": 3}
    assert "epochs" not in config_overrides(build_parser().parse_args(["search", "--task", "printed"]))


def test_command_line_answers_without_loading_torch() -> None:
    code = "import sys, autoaug.cli; autoaug.cli.build_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_empty_class_is_named(tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    train = _folder(tmp_path / "train", {"ok": 4, "scratch": 4})
    val = _folder(tmp_path / "val", {"ok": 4, "scratch": 0})
    error = _error_of(capsys, ["search", "--task", "folders", "--train-dir", str(train), "--val-dir", str(val),
                               "--backbone", "test_resnet", "--weights", "none", "--tracking-uri", tracking_uri])
    assert "scratch" in error


def test_class_sets_that_differ_are_listed(tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    train = _folder(tmp_path / "train", {"ok": 4, "dent": 4})
    val = _folder(tmp_path / "val", {"ok": 4, "crack": 4})
    error = _error_of(capsys, ["search", "--task", "folders", "--train-dir", str(train), "--val-dir", str(val),
                               "--backbone", "test_resnet", "--weights", "none", "--tracking-uri", tracking_uri])
    assert "dent" in error and "crack" in error


def test_missing_offline_weights_say_how_to_point_at_a_file(
    tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    error = _error_of(capsys, ["search", "--backbone", "test_resnet", "--train-size", "50", "--tracking-uri", tracking_uri])
    assert "--weights" in error


def test_unknown_space_op_is_named_with_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("version: 1\nname: s\nstructure: sequence\nops: [rotate, blurr]\n")
    error = _error_of(capsys, ["search", "--space", str(space)])
    assert str(space) in error and "blurr" in error


def test_unknown_config_key_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "search.yaml"
    config.write_text("version: 1\nbackbone_name: resnet18\n")
    error = _error_of(capsys, ["search", "--config", str(config)])
    assert "backbone_name: unknown key" in error


def test_export_without_any_search_says_what_to_run(tracking_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "autoaug search" in _error_of(capsys, ["export", "--tracking-uri", tracking_uri])


def test_ops_lists_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "down*"]) == 0
    out = capsys.readouterr().out
    assert "downscale" in out and "1 -> 0.2" in out


def test_final_report_ranks_compares_and_says_what_to_run_next() -> None:
    def row(name: str, val: float, test: float, baseline: str | None = None) -> TrialRow:
        return TrialRow(name, name, "completed", baseline, {"val_accuracy": val, "test_accuracy": test}, "p")

    rows = [row("trial-001", 0.43, 0.38), row("baseline-none", 0.20, 0.19, "none"),
            row("baseline-trivial_augment_wide", 0.22, 0.19, "trivial_augment_wide")]
    report = final_report(SearchResult("s1", "run", "sqlite:///x.db", "autoaug", tuple(rows), "finished", True, seconds=90.0))
    assert "Best policy: trial-001  val_accuracy 0.430  held-out test accuracy 0.380" in report
    assert "beat the best baseline (trivial_augment_wide) on validation by +0.210" in report
    next_lines = report.split("Next:\n", 1)[1].splitlines()
    assert [line.split("#")[0].strip() for line in next_lines[:5]] == [
        "autoaug ui", "autoaug trials --name s1", "autoaug plots --name s1", "autoaug export --name s1",
        "autoaug evaluate best_policy.json",
    ]
    assert len({line.index("#") for line in next_lines[:5]}) == 1  # comments aligned



@pytest.mark.parametrize("name", ["a'b", 'a"b', "..", ".", ".hidden", "a b", "-x", "a/b", ""])
@pytest.mark.parametrize(
    ("command", "flag"),
    [("search", "--name"), ("search", "--resume"), ("trials", "--name"), ("export", "--name"), ("plots", "--name")],
)
def test_one_name_rule_for_every_name_flag(
    command: str, flag: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, f"{flag}={name}"])
    assert done.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}: invalid search name {name!r}" in error
    assert "letters, digits, '_', '-' and '.'" in error


def _one_trial_search(tracking_uri: str) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "s")
    tracker.start_search({"trials": 1}, "version: 1\n")
    tracker.start_trial("t0", "trial-000", baseline_policies()["none"], {}, None)
    tracker.log_metrics("t0", {"val_accuracy": 0.5}, step=1)
    tracker.end_trial("t0", "completed")


def test_export_creates_the_output_folder(tmp_path: Path, tracking_uri: str) -> None:
    _one_trial_search(tracking_uri)
    output = tmp_path / "missing" / "dir" / "x.json"
    assert main(["export", "-o", str(output), "--tracking-uri", tracking_uri]) == 0
    assert read_policy(output).structure == "none" and output.with_suffix(".py").is_file()


def test_export_to_a_path_below_a_file_is_a_clear_error(
    tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("")
    _one_trial_search(tracking_uri)
    error = _error_of(capsys, ["export", "-o", str(tmp_path / "a_file" / "x.json"), "--tracking-uri", tracking_uri])
    assert f"cannot write {tmp_path / 'a_file' / 'x.json'}" in error


def test_version_names_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"autoaug {importlib.metadata.version('autoaug')}\n"


def _two_trial_search(tracking_uri: str) -> None:
    tracker = SearchTracker(tracking_uri, "autoaug", "s")
    tracker.start_search({"trials": 2}, "version: 1\n")
    for key, accuracy in (("t0", 0.5), ("t1", 0.75)):
        tracker.start_trial(key, f"trial-{key}", baseline_policies()["none"], {}, None)
        tracker.log_metrics(key, {"val_accuracy": accuracy, "affinity": 0.25}, step=1)
        tracker.end_trial(key, "completed")


def test_trials_as_json_and_csv_hold_every_trial_and_nothing_else(
    tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_trial_search(tracking_uri)
    assert main(["trials", "--format", "json", "--tracking-uri", tracking_uri]) == 0
    trials = json.loads(capsys.readouterr().out)
    assert [(t["rank"], t["trial"], t["outcome"], t["metrics"]["val_accuracy"]) for t in trials] == [
        (1, "trial-t1", "completed", 0.75), (2, "trial-t0", "completed", 0.5)]
    assert all(t["metrics"]["affinity"] == 0.25 and len(t["run_id"]) == 32 for t in trials)
    assert main(["trials", "--format", "csv", "--tracking-uri", tracking_uri]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["rank"], row["trial"], row["val_accuracy"]) for row in table] == [("1", "trial-t1", "0.75"),
                                                                                 ("2", "trial-t0", "0.5")]
    assert [row["run_id"] for row in table] == [t["run_id"] for t in trials]
    assert main(["trials", "--tracking-uri", tracking_uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "search 's' (running), 2 trials"
    assert lines[3].split()[:3] == ["1", "trial-t1", "completed"]


def test_trials_format_is_one_of_three(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["trials", "--format", "yaml"])
    assert done.value.code == 2
    assert "choose from 'table', 'json', 'csv'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["trials", "export", "plots"])
def test_read_only_commands_create_no_store(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    error = _error_of(capsys, [command])
    database = tmp_path.resolve() / "mlruns" / "mlflow.db"
    assert f"no MLflow store at sqlite:///mlruns/mlflow.db ({database} does not exist)" in error
    assert "autoaug search" in error
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/elsewhere/x.db")
    assert f"no MLflow store at sqlite:///{tmp_path}/elsewhere/x.db" in _error_of(capsys, [command])
    assert list(tmp_path.iterdir()) == []


def test_mlflow_tracking_uri_names_the_store_when_no_flag_does(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_trial_search(tracking_uri)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    assert main(["trials", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["trials", "--tracking-uri", "sqlite:///missing.db"]) == 2
    assert "no MLflow store at sqlite:///missing.db" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_store_mlflow_cannot_open_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    error = _error_of(capsys, ["trials", "--tracking-uri", str(tmp_path / "mlruns")])
    assert f"cannot read the MLflow store at {tmp_path / 'mlruns'} (MlflowException: " in error
    assert list(tmp_path.iterdir()) == []


def test_search_help_names_the_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    assert "$MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db" in " ".join(capsys.readouterr().out.split())


def test_ops_lists_every_op_without_loading_torch() -> None:
    code = ("import sys; from autoaug.cli import main; code = main(['ops']); "
            "print(code, sorted({'torch', 'torchvision', 'ray', 'mlflow', 'scipy'} & set(sys.modules)))")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines[-1] == "0 []"
    listed = {line.split()[0]: line for line in lines[1:-1]}
    ops = list_ops()
    assert len(ops) > 20 and sorted(listed) == [op.name for op in ops]
    for op in ops:
        span = f"{op.low:g} -> {op.high:g}" if op.uses_magnitude else "(none)"
        assert listed[op.name].split(maxsplit=1)[1].startswith(span), op.name
