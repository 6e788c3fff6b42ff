"""Bad input and faults through the CLI: what the user sees, and what is left in MLflow."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from PIL import Image

from autoaug.cli import main
from autoaug.policy import baseline_policies, save_policy
from autoaug.tracking import DATA_REPORT, find_search

TINY = ["--backbone", "test_resnet", "--weights", "none", "--image-size", "16", "--epochs", "1"]


def _command(command: str, tmp_path: Path) -> list[str]:
    """``autoaug search`` or ``autoaug evaluate`` (of one policy file) on tiny settings."""
    if command == "search":
        return ["search", *TINY, "--train-size", "60", "--trials", "1"]
    policy = tmp_path / "trivial.json"
    save_policy(baseline_policies()["trivial_augment_wide"], policy)
    return ["evaluate", str(policy), "--baselines", "none", *TINY, "--train-size", "60"]


@pytest.mark.parametrize("command", ["search", "evaluate"])
def test_an_unreachable_tracking_server_fails_fast_naming_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main([*_command(command, tmp_path), "--tracking-uri", "http://127.0.0.1:9"]) == 2
    seconds = time.monotonic() - started
    error = capsys.readouterr().err
    assert "tracking store http://127.0.0.1:9 cannot be used" in error and "Connection refused" in error
    assert seconds < 90  # seconds, where MLflow's default retries take minutes


@pytest.mark.parametrize("command", ["search", "evaluate"])
def test_a_store_path_that_cannot_be_written_is_named(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    uri = f"sqlite:///{tmp_path}/a_file/mlruns/mlflow.db"
    assert main([*_command(command, tmp_path), "--tracking-uri", uri]) == 2
    error = capsys.readouterr().err
    assert f"tracking store {uri} cannot be used" in error and "Not a directory" in error


def _folders(root: Path) -> tuple[Path, Path]:
    """Training and target folders of two classes, 8-bit RGB images."""
    for split in ("train", "val"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for index in range(4):
                pixels = np.random.default_rng(index).integers(0, 255, (12, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{index}.png")
    return root / "train", root / "val"


@pytest.mark.slow
def test_search_reports_converted_and_skipped_files(
    ray_runtime: None, tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train, val = _folders(tmp_path)
    ramp = np.linspace(0, 65535, 144).reshape(12, 12).astype(np.uint16)
    Image.fromarray(ramp).save(train / "a" / "ramp16.png")
    (train / "b" / "broken.png").write_bytes(b"not a png")
    assert main(["search", "--task", "folders", "--train-dir", str(train), "--val-dir", str(val), *TINY,
                 "--trials", "0", "--baselines", "none", "--tracking-uri", tracking_uri, "--name", "report"]) == 0
    out = capsys.readouterr().out
    assert "converted 1 image file(s) to 8-bit RGB: I;16 x1 (16-bit, divided by 257)" in out
    assert "skipped 1 unreadable image files" in out

    client = MlflowClient(tracking_uri)
    parent = find_search(client, "autoaug", "report")
    report = json.loads(Path(client.download_artifacts(parent.info.run_id, DATA_REPORT, str(tmp_path))).read_text())
    assert report["conversions"] == {"I;16": 1}
    assert [line.split(": ")[0] for line in report["skipped"]] == [str(train / "b" / "broken.png")]
