"""``autoaug ui`` stops the MLflow server it started when it is told to stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from local_processes import descendants, free_port, healthy, port_open, running, wait_until

AUTOAUG = str(Path(sys.executable).with_name("autoaug"))


def test_sigterm_stops_the_server_and_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "ui.log").open("w") as log:
        ui = subprocess.Popen([AUTOAUG, "ui", "--port", str(port), "--tracking-uri", f"sqlite:///{tmp_path}/m.db"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}") or ui.poll() is not None, 180, "autoaug ui to answer")
        assert ui.poll() is None, (tmp_path / "ui.log").read_text()
        started = descendants(ui.pid)
        assert started, "the MLflow server runs as a child of autoaug ui"
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=120) == 130
        wait_until(lambda: not port_open(port), 30, f"port {port} to close")
        wait_until(lambda: not any(running(pid) for pid in started), 30, "the server's processes to end")
        assert "autoaug ui: interrupted" in (tmp_path / "ui.log").read_text()
    finally:  # on failure, stop what this test started: autoaug ui's group and the server's
        for pid in {ui.pid, *started}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        ui.wait()
