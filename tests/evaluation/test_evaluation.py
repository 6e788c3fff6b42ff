"""``autoaug evaluate``: statistics on known numbers, real tiny fine-tunes, the MLflow record, bad input."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import ray
from mlflow import MlflowClient
from PIL import Image

from autoaug.cli import build_parser, main
from autoaug.config import DataConfig, Recipe
from autoaug.errors import ConfigError
from autoaug.evaluation import comparisons, format_table, repeat_fine_tunes
from autoaug.modalities import get_modality
from autoaug.modalities.image import baseline_policies, resolve_weights
from autoaug.modalities.image.data import load_digits_task
from autoaug.policy import OpSpec, Policy, save_policy
from autoaug.records import SearchTracker, find_search, read_trial_policy, trial_runs
from autoaug.results import PolicyStats, SeedResult, check_seeds, compare, evaluation_seeds, summarise
from autoaug.vocabulary import TAG_ROLE, TAG_SOURCE_RUN, TAG_SOURCE_SEARCH

TINY = ["--backbone", "test_resnet", "--weights", "none", "--train-size", "60", "--image-size", "16",
        "--epochs", "1"]
LOW_RES = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8),),), name="low_res")
IMAGE = get_modality("image")


def _result(policy: str, seed: int, accuracy: float) -> SeedResult:
    return SeedResult(policy, seed, accuracy, val_accuracy=0.0, train_loss=1.0, seconds=1.0)


def test_summarise_gives_mean_and_sample_std_per_policy() -> None:
    results = [_result("a", 0, 0.5), _result("b", 0, 0.4), _result("a", 1, 0.7), _result("b", 1, 0.4)]
    a, b = summarise(results)
    assert (a.policy, a.seeds, a.values) == ("a", (0, 1), (0.5, 0.7))
    assert a.mean == pytest.approx(0.6) and a.std == pytest.approx(math.sqrt(0.02))  # n - 1 in the denominator
    assert (b.mean, b.std) == (pytest.approx(0.4), 0.0)


@pytest.mark.parametrize(
    ("policy_std", "baseline_std", "clear"),
    [(0.05, 0.01, True), (0.01, 0.11, False), (0.1, 0.1, False)],  # gap 0.1: the larger std decides
)
def test_a_gap_is_clear_only_beyond_the_larger_std(policy_std: float, baseline_std: float, clear: bool) -> None:
    policy = PolicyStats("p", (0, 1), (0.6, 0.6), 0.6, policy_std)
    baseline = PolicyStats("b", (0, 1), (0.5, 0.5), 0.5, baseline_std)
    verdict = compare(policy, baseline)
    assert verdict.gap == pytest.approx(0.1)
    assert verdict.std == max(policy_std, baseline_std)
    assert verdict.clear is clear


def test_table_lists_every_policy_and_each_gap() -> None:
    stats = [
        PolicyStats("none", (0, 1), (0.2, 0.3), 0.25, 0.0707),
        PolicyStats("best", (0, 1), (0.5, 0.6), 0.55, 0.0707),
    ]
    table = format_table(stats, comparisons(stats, ["best"]), "heading")
    lines = table.splitlines()
    assert lines[0] == "heading"
    assert lines[3].split() == ["best", "0.550", "±", "0.071", "0.500", "0.600"]  # best first
    assert "vs none" in table and "gap +0.300" in table and "clear" in table


@pytest.mark.parametrize(
    ("flags", "search_seed", "expected"),
    [([], 0, (1, 2, 3)), ([], 7, (8, 9, 10)), (["--repeats", "5"], 0, (1, 2, 3, 4, 5)), (["--seeds", "0", "4"], 0, (0, 4))],
)
def test_default_seeds_leave_out_the_one_the_search_selected_on(
    flags: list[str], search_seed: int, expected: tuple[int, ...]
) -> None:
    args = build_parser().parse_args(["evaluate", "best_policy.json", *flags])
    assert evaluation_seeds(args.seeds, args.repeats, search_seed) == expected


@pytest.mark.parametrize("seeds", [[0], [1, 1], [-1, 2]])
def test_bad_seeds_are_refused(seeds: list[int]) -> None:
    with pytest.raises(ConfigError, match="seeds"):
        check_seeds(seeds)


def test_training_and_scoring_import_no_orchestration() -> None:
    code = "import sys, autoaug.modalities.image; print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'mlflow', 'optuna'}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_same_seed_gives_the_same_result() -> None:
    task = load_digits_task(image_size=16, train_size=60)
    weights = resolve_weights("test_resnet", "none")
    policies = {"trivial": baseline_policies()["trivial_augment_wide"]}
    recipe = Recipe(epochs=1, batch_size=16)
    first, second = (repeat_fine_tunes(IMAGE, task, weights, policies, [0, 1], recipe) for _ in range(2))
    assert [(r.test_accuracy, r.train_loss) for r in first] == [(r.test_accuracy, r.train_loss) for r in second]
    assert first[0].train_loss != first[1].train_loss  # and the seed does matter


@pytest.mark.slow
def test_evaluate_through_the_cli_reports_writes_and_records(
    tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The policy as a search would have recorded it: evaluate links its run to that trial.
    tracker = SearchTracker(tracking_uri, "autoaug", "earlier-search")
    tracker.start_search({"task": "digits"}, "version: 1\n")
    tracker.start_trial("t0", "trial-000", LOW_RES, {}, None)
    tracker.end_trial("t0", "completed")
    policy_file = tmp_path / "low_res.json"
    save_policy(LOW_RES, policy_file)
    output, plot = tmp_path / "out" / "evaluation.json", tmp_path / "out" / "evaluation.png"

    code = main(["evaluate", str(policy_file), "--baselines", "none", "trivial_augment_wide", "--seeds", "0", "1",
                 *TINY, "--tracking-uri", tracking_uri, "--output-json", str(output), "--plot", str(plot)])
    assert code == 0
    out = capsys.readouterr().out
    assert "[  6/6]" in out and "low_res against each baseline" in out

    record = json.loads(output.read_text())
    assert record["format"] == "autoaug-evaluation"
    assert record["baselines"] == ["none", "trivial_augment_wide"]
    assert len(record["runs"]) == 6
    for label in ("low_res", "none", "trivial_augment_wide"):
        values = [run["test_accuracy"] for run in record["runs"] if run["policy"] == label]
        summary = record["test_accuracy"][label]
        assert summary["per_seed"] == {"0": values[0], "1": values[1]}
        assert summary["mean"] == pytest.approx(statistics.fmean(values), abs=1e-6)
        assert summary["std"] == pytest.approx(statistics.stdev(values), abs=1e-6)
        assert f"{summary['mean']:.3f} ± {summary['std']:.3f}" in out
    for c in record["comparisons"]:
        mine, theirs = record["test_accuracy"][c["policy"]], record["test_accuracy"][c["baseline"]]
        assert c["gap"] == pytest.approx(mine["mean"] - theirs["mean"], abs=1e-6)
        assert c["clear"] == (c["gap"] > max(mine["std"], theirs["std"]))
        assert f"gap {c['gap']:+.3f}" in out
    assert Image.open(plot).size[0] > 300

    client = MlflowClient(tracking_uri)
    run = client.get_run(record["mlflow"]["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags[TAG_ROLE] == "evaluation"
    (trial,) = trial_runs(client, client.get_run(tracker.parent_run_id))
    assert run.data.tags[TAG_SOURCE_RUN] == trial.info.run_id
    assert run.data.tags[TAG_SOURCE_SEARCH] == "earlier-search"
    assert record["policies"]["low_res"]["source_search"] == "earlier-search"
    note = run.data.tags["mlflow.note.content"]  # the run's description in the UI
    assert "low_res against each baseline" in note and "trial-000" in note and "'earlier-search'" in note
    assert run.data.metrics["test_accuracy_mean/low_res"] == pytest.approx(record["test_accuracy"]["low_res"]["mean"])
    history = client.get_metric_history(run.info.run_id, "test_accuracy/none")
    assert [(m.step, m.value) for m in history] == [(0, record["test_accuracy"]["none"]["per_seed"]["0"]),
                                                   (1, record["test_accuracy"]["none"]["per_seed"]["1"])]
    files = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"evaluation.json", "evaluation.png", "evaluation.txt", "policies"} <= files
    policies = {f.path for f in client.list_artifacts(run.info.run_id, "policies")}
    assert policies == {"policies/low_res.json", "policies/none.json", "policies/trivial_augment_wide.json"}
    # The data it trained on, was checked on and reports, as run inputs with the data's own digests.
    data = DataConfig(train_size=60, image_size=16)
    task = IMAGE.load_task(data, seed=0)
    described = IMAGE.data_inputs(task, data, held_out=True)
    expected = {(item.name, item.digest, item.context, item.rows) for item in described}
    assert {(name, context, rows) for name, _, context, rows in expected} == {
        ("digits-training", "training", 60), ("digits-target", "target", len(task.val)),
        ("digits-test", "test", len(task.test))}
    inputs = run.inputs.dataset_inputs
    assert {(item.dataset.name, item.dataset.digest, item.tags[0].value, json.loads(item.dataset.profile)["rows"])
            for item in inputs} == expected
    assert all(item.dataset.source_type == "code" and "digits" in item.dataset.source for item in inputs)
    # Source and version, as on a search's runs.
    assert run.data.tags["mlflow.source.type"] == "LOCAL" and run.data.tags["mlflow.source.name"]
    assert run.data.tags["autoaug.version"] == importlib.metadata.version("autoaug")


@pytest.mark.parametrize(
    ("setup", "argv", "expected"),
    [
        (None, ["missing.json"], "missing.json: cannot read the policy file"),
        ("{not json", ["bad.json"], "bad.json: invalid JSON at line 1"),
        ('{"format": "autoaug-policy", "version": 1, "structure": "rand"}', ["bad.json"], "bad.json"),
        ("LOW_RES", ["low_res.json", "--baselines", "none", "cutmix"], "unknown 'cutmix'; choose from none"),
        ("LOW_RES", ["low_res.json", "--seeds", "3"], "at least 2 seeds"),
        ("LOW_RES", ["low_res.json", "--repeats", "1"], "at least 2 seeds"),
        ("LOW_RES", ["none.json"], "also a baseline's"),
        ("LOW_RES", ["low_res.json", "--backbone", "test_resnett"], "unknown model 'test_resnett'"),
    ],
)
def test_bad_input_is_refused_before_anything_trains(
    tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str],
    setup: str | None, argv: list[str], expected: str,
) -> None:
    for name in ("bad.json", "low_res.json", "none.json"):
        if setup == "LOW_RES":
            save_policy(LOW_RES, tmp_path / name)
        elif setup is not None:
            (tmp_path / name).write_text(setup)
    argv = [str(tmp_path / arg) if arg.endswith(".json") else arg for arg in argv]
    assert main(["evaluate", *argv, "--tracking-uri", tracking_uri, "--weights", "none"]) == 2
    assert expected in capsys.readouterr().err
    assert not Path(tracking_uri.removeprefix("sqlite:///")).exists()  # no store, no run: nothing started


@pytest.mark.slow
def test_the_search_seed_reproduces_the_searched_trial(tmp_path: Path, tracking_uri: str) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale]\n")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             _temp_dir=tempfile.mkdtemp(prefix="aa-ray-", dir="/tmp"))
    try:
        assert main(["search", *TINY, "--trials", "1", "--baselines", "--no-early-stopping",
                     "--space", str(space), "--tracking-uri", tracking_uri, "--name", "repro"]) == 0
    finally:
        ray.shutdown()
    client = MlflowClient(tracking_uri)
    (trial,) = trial_runs(client, find_search(client, "autoaug", "repro"))
    policy_file = tmp_path / "searched.json"
    save_policy(read_trial_policy(client, trial), policy_file)
    output = tmp_path / "evaluation.json"
    assert main(["evaluate", str(policy_file), "--seeds", "0", "1", "--baselines", *TINY,
                 "--tracking-uri", tracking_uri, "--output-json", str(output), "--plot", str(tmp_path / "e.png")]) == 0
    seed0 = next(run for run in json.loads(output.read_text())["runs"] if run["seed"] == 0)
    # The search trains every trial with its own seed (0) and one thread: evaluate's seed 0 is the same fine-tune.
    assert seed0["test_accuracy"] == trial.data.metrics["test_accuracy"]
    assert seed0["val_accuracy"] == trial.data.metrics["val_accuracy"]
