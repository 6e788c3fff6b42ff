"""`autoaug export --pick` and `autoaug plots` on searches recorded in a real sqlite MLflow store; `autoaug preview`.

The searches are written through the real :class:`SearchTracker`, as the driver writes them, with
metrics chosen so that every pick's answer is known by hand.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient
from PIL import Image

from autoaug import load_policy
from autoaug.cli import main
from autoaug.modalities.image import baseline_policies, render_grid
from autoaug.modalities.image._preview import TITLE_BAND
from autoaug.policy import OpSpec, Policy, read_policy, save_policy
from autoaug.records import PLOTS_DIR, SearchTracker, find_search, load_trial_rows, log_search_plots
from autoaug.results import rows_to_csv
from autoaug.results.figures import PLOT_FILES

BASELINES = baseline_policies()
IMAGES = torch.randint(0, 256, (2, 3, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def single(op: str) -> Policy:
    return Policy("subpolicies", sub_policies=((OpSpec(op, 0.5, 0.5),),))


# name: (policy, baseline, outcome, val_accuracy, affinity, diversity). The Pareto front over
# (affinity, diversity) is none, trial-000, trivial_augment_wide and trial-001; trial-002 (the most
# accurate) is dominated by trial-000; the pruned and failed trials never count.
TRIALS = {
    "baseline-none": (BASELINES["none"], "none", "completed", 0.40, 1.00, 1.00),
    "baseline-trivial_augment_wide": (BASELINES["trivial_augment_wide"], "trivial_augment_wide", "completed", 0.50, 0.85, 1.60),
    "trial-000": (single("downscale"), None, "completed", 0.58, 0.92, 1.55),
    "trial-001": (single("gaussian_blur"), None, "completed", 0.60, 0.60, 2.20),
    "trial-002": (single("rotate"), None, "completed", 0.62, 0.70, 1.30),
    "trial-003": (single("invert"), None, "pruned", 0.30, 0.95, 2.50),
    "trial-004": (single("solarize"), None, "failed", None, None, None),
}
PICKED = {"best": "trial-002", "pareto": "trial-001", "knee": "trial-000"}


def record_search(uri: str, name: str, measures: bool) -> SearchTracker:
    tracker = SearchTracker(uri, "autoaug", name)
    tracker.start_search({"trials": 5}, "version: 1\n")
    for index, (run_name, (policy, baseline, outcome, accuracy, affinity, diversity)) in enumerate(TRIALS.items()):
        trial_id = f"t{index}"
        tracker.start_trial(trial_id, run_name, policy, {}, render_grid(policy, IMAGES, samples=3), baseline)
        if accuracy is not None:
            tracker.log_metrics(trial_id, {"val_accuracy": accuracy - 0.1, "train_loss": 1.0}, step=1)
            final = {"val_accuracy": accuracy, "test_accuracy": accuracy - 0.01, "train_loss": 0.5}
            if measures:
                final |= {"affinity": affinity, "diversity": diversity, "feature_diversity": diversity / 2}
                if outcome == "completed" and baseline is None:
                    final["feature_relevance"] = 10 * (1 - affinity)
            tracker.log_metrics(trial_id, final, step=2)
        tracker.end_trial(trial_id, outcome, "RuntimeError: boom" if outcome == "failed" else None)
    rows = load_trial_rows(tracker.client, tracker.client.get_run(tracker.parent_run_id))
    tracker.finish_search({}, rows_to_csv(rows), None)
    log_search_plots(tracker.client, tracker.parent_run_id, rows)
    return tracker


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = f"sqlite:///{tmp_path_factory.mktemp('store')}/mlruns/mlflow.db"
    record_search(uri, "old", measures=False)
    record_search(uri, "measured", measures=True)
    return uri


@pytest.mark.parametrize("pick", sorted(PICKED))
def test_export_writes_the_picked_trial_with_its_scores(pick: str, store: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "policy.json"
    assert main(["export", "--pick", pick, "--tracking-uri", store, "-o", str(output)]) == 0
    name = PICKED[pick]
    policy, _, _, accuracy, affinity, diversity = TRIALS[name]
    metadata = json.loads(output.read_text())["metadata"]
    assert metadata == {
        "version": 1, "search": "measured", "trial": name, "run_id": metadata["run_id"], "pick": pick,
        "best_baseline": "", "verdict": "", "confirm_seeds": None,  # no confirmation stage in this search
        "gap_mean": None, "gap_std": None, "gap_ci_low": None, "gap_ci_high": None,
        "val_accuracy": pytest.approx(accuracy), "test_accuracy": pytest.approx(accuracy - 0.01),
        "affinity": pytest.approx(affinity), "diversity": pytest.approx(diversity),
        "feature_relevance": pytest.approx(10 * (1 - affinity)), "feature_diversity": pytest.approx(diversity / 2),
    }
    assert read_policy(output).sub_policies == policy.sub_policies
    assert load_policy(output)(IMAGES[0]).shape == (3, 12, 12)
    assert f"trial '{name}' (pick: {pick})" in output.with_suffix(".py").read_text()
    out = capsys.readouterr().out
    assert f"pick {pick}: trial {name}" in out and "affinity" in out


def test_export_of_an_old_search_writes_null_for_the_missing_scores(store: str, tmp_path: Path) -> None:
    output = tmp_path / "old.json"
    assert main(["export", "--name", "old", "--tracking-uri", store, "-o", str(output)]) == 0
    metadata = read_policy(output).metadata
    assert metadata is not None and metadata.trial == "trial-002" and metadata.pick == "best"
    assert metadata.val_accuracy == pytest.approx(0.62) and metadata.affinity is None
    assert json.loads(output.read_text())["metadata"]["diversity"] is None


@pytest.mark.parametrize("pick", ["pareto", "knee"])
def test_trade_off_picks_on_a_search_without_measures_say_what_to_do(
    pick: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--name", "old", "--pick", pick, "--tracking-uri", store, "-o", str(tmp_path / "p.json")]) == 2
    error = capsys.readouterr().err
    assert f"--pick {pick}: none of the 5 completed trials of search 'old'" in error and "--pick best" in error
    assert not (tmp_path / "p.json").exists()


def test_export_format_writes_the_library_s_transforms(store: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "policy.json"
    assert main(["export", "--format", "kornia", "--tracking-uri", store, "-o", str(output)]) == 0
    source = output.with_suffix(".py").read_text()
    assert "import kornia.augmentation as K" in source and "K.RandomRotation(degrees=(15.0, 15.0)" in source
    assert read_policy(output).sub_policies == TRIALS["trial-002"][0].sub_policies
    assert f"and {output.with_suffix('.py')} (kornia: needs no autoaug)" in capsys.readouterr().out


def test_export_format_refuses_an_op_without_counterpart_and_writes_nothing(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "policy.json"
    assert main(["export", "--format", "timm", "--pick", "knee", "--tracking-uri", store, "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert "cannot export the policy to timm exactly" in error and "- downscale at value 0.6" in error
    assert "no --format takes it" in error and "without --format" in error
    assert not output.exists() and not output.with_suffix(".py").exists()


def _check_pngs(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
            image.verify()


@pytest.mark.parametrize("name", ["measured", "old"])
def test_parent_run_holds_the_plots(name: str, store: str, tmp_path: Path) -> None:
    client = MlflowClient(store)
    parent = find_search(client, "autoaug", name)
    listed = {item.path for item in client.list_artifacts(parent.info.run_id, PLOTS_DIR)}
    assert listed == {f"{PLOTS_DIR}/{file}" for file in PLOT_FILES}
    folder = Path(client.download_artifacts(parent.info.run_id, PLOTS_DIR, str(tmp_path)))
    _check_pngs([folder / file for file in PLOT_FILES])


@pytest.mark.parametrize("name", ["measured", "old"])
def test_plots_command_writes_the_pngs(name: str, store: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plots", "--name", name, "--tracking-uri", store, "-o", str(tmp_path / "out")]) == 0
    _check_pngs([tmp_path / "out" / file for file in PLOT_FILES])
    out = capsys.readouterr().out
    assert ("no completed trial recorded affinity and diversity" in out) == (name == "old")
    assert "no Optuna plots: no Optuna studies at" in out  # recorded without a study: said, not failed


def test_plotting_errors_are_warnings_not_failures(store: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="autoaug.plots"):
        log_search_plots(MlflowClient(store), "no-such-run", [])
    assert "no plots on the search run no-such-run" in caplog.text


def test_plots_of_a_missing_search_name_the_search(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plots", "--name", "nope", "--tracking-uri", store]) == 2
    assert "'nope'" in capsys.readouterr().err


def test_preview_writes_a_titled_grid_of_one_digit_per_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "spin.json"
    save_policy(Policy("trivial", ops=("rotate",), name="spin"), policy)
    output = tmp_path / "grid.png"
    assert main(["preview", str(policy), "-o", str(output), "--samples", "3"]) == 0
    assert "6 inputs x 3 draws" in capsys.readouterr().out
    with Image.open(output) as grid:
        # Six digits at 32 px, enlarged to 64 px cells: the original and 3 draws each, below the title band.
        assert grid.size == (4 * (64 + 4) + 4, TITLE_BAND + 6 * (64 + 4) + 4)
        title = grid.crop((0, 0, grid.width, 24)).convert("L")
        assert title.getextrema()[0] < 128  # the policy's title is written on it
