"""Bad input and faults through the CLI: what the user sees, and what is left in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from PIL import Image

from autoaug.cli import main
from autoaug.tracking import DATA_REPORT, find_search

TINY = ["--backbone", "test_resnet", "--weights", "none", "--image-size", "16", "--epochs", "1"]


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
