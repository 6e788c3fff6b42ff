"""A real terminal for tests: a command run inside tmux on a private socket, its screen read with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local_processes import wait_until

TMUX = shutil.which("tmux")
EXIT = "EXIT="
"""What the shell prints, with the command's exit status, after the command."""


class Terminal:
    """A 160 x 50 terminal running one command; ``screens`` holds every distinct screen read so far."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.screens: list[str] = []

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this terminal's server; returns what it printed.

        The server starts with this process's environment less ``COLUMNS`` and ``LINES`` (pytest sets them to
        80 x 24), so that programs in the pane read its size from the pane, as in a user's terminal.
        """
        env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
        command = ["tmux", "-L", self.socket, *args]
        return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout

    def read(self) -> str:
        """The screen now (also kept in ``screens`` when it changed)."""
        screen = self.tmux("capture-pane", "-p")
        if not self.screens or screen != self.screens[-1]:
            self.screens.append(screen)
        return screen

    def wait_for_exit(self, seconds: float) -> str:
        """Read the screen until the command has ended; returns the last screen."""
        return wait_until(lambda: EXIT in (screen := self.read()) and screen, seconds, "the command to end")


@contextmanager
def terminal(command: list[str], cwd: Path, env: dict[str, str], seconds: float) -> Iterator[Terminal]:
    """``command`` running in a fresh tmux server (killed afterwards); the pane keeps its screen after it ends."""
    window = Terminal(f"autoaug-test-{uuid.uuid4().hex[:12]}")
    variables = [f"{name}={value}" for name, value in env.items()]
    shell = f"cd {shlex.quote(str(cwd))} && {shlex.join(['env', *variables, *command])}; echo {EXIT}$?; sleep {seconds:.0f}"
    try:
        window.tmux("new-session", "-d", "-x", "160", "-y", "50", shell)
        yield window
    finally:
        subprocess.run(["tmux", "-L", window.socket, "kill-server"], capture_output=True)
