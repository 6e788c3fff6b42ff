"""The MLflow UI on a store, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys

from autoaug.records._store import prepare_store


def serve_ui(tracking_uri: str, host: str, port: int) -> int:
    """Run the MLflow UI on ``tracking_uri`` at ``host:port`` until it stops; return its exit code.

    One worker and no job runners: the UI reads the records, nothing more.
    """
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", prepare_store(tracking_uri),
               "--host", host, "--port", str(port), "--workers", "1"]
    return subprocess.call(command, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
