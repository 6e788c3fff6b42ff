"""The MLflow UI on a store, in a child process that stops with the command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from autoaug.records._store import prepare_store

_STOP_SECONDS = 30.0
"""How long the server may take to shut down gracefully before it is killed."""


def serve_ui(tracking_uri: str, host: str, port: int) -> int:
    """Run the MLflow UI on ``tracking_uri`` at ``host:port`` until it stops; return its exit code.

    One worker and no job runners: the UI reads the records, nothing more. The server runs in a process
    group of its own; when this call is interrupted (Ctrl-C, or SIGTERM, which the command line turns into
    Ctrl-C), the server is stopped, and whatever is left of its group killed, before the interruption goes on.
    """
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", prepare_store(tracking_uri),
               "--host", host, "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                              start_new_session=True)
    try:
        return server.wait()
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server (``mlflow ui`` passes it to uvicorn and waits for it), then SIGKILL to what remains
    of its group: at once if it is slow to stop or a second interruption comes."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=_STOP_SECONDS)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    try:
        os.killpg(server.pid, signal.SIGKILL)  # the group outlives its leader only if a child was orphaned
    except ProcessLookupError:
        pass
