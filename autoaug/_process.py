"""Which process wrote a record, and whether it is still running: for records and folders left by a killed one.

A process is named by host, boot, pid and start time (Linux ``/proc``), so a pid reused after the
process ended, or after a reboot, is not taken for it.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_SEPARATOR = "/"


def _start_ticks(pid: int) -> str | None:
    """When ``pid`` started (clock ticks after boot), or None when it is not running (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


def this_process() -> str:
    """This process as ``host/boot/pid/start``, for a tag or a file that a later command checks."""
    pid = os.getpid()
    return _SEPARATOR.join([socket.gethostname(), _boot_id(), str(pid), _start_ticks(pid) or ""])


def _fields(identity: str) -> list[str]:
    """Host, boot, pid and start time of an identity (empty strings for what it lacks)."""
    return (identity.rsplit(_SEPARATOR, 3) + ["", "", ""])[:4]


def describe(identity: str) -> str:
    """The process of an identity in words: ``process 4242 on host-a``."""
    host, _, pid, _ = _fields(identity)
    return f"process {pid or '?'} on {host or '?'}"


def is_gone(identity: str) -> bool:
    """Whether the process named by :func:`this_process` has ended; False when that cannot be told here.

    A process of another host (or an identity that is not one) cannot be checked, so it counts as running.
    """
    host, boot, pid, start = _fields(identity)
    if host != socket.gethostname() or not pid.isdigit() or not start:
        return False
    if boot != _boot_id():
        return True  # the machine has restarted since
    return _start_ticks(int(pid)) != start


def processes_using(folder: Path) -> Iterator[int]:
    """This user's other running processes that hold a file open under ``folder`` (logs, spilled objects)."""
    prefix = str(folder) + os.sep
    for descriptors in Path("/proc").glob("[0-9]*/fd"):
        pid = int(descriptors.parent.name)
        if pid == os.getpid() or _start_ticks(pid) is None:
            continue
        try:
            targets = [os.readlink(descriptor) for descriptor in descriptors.iterdir()]
        except OSError:  # another user's process, or one that just ended or closed a file
            continue
        if any(target.startswith(prefix) for target in targets):
            yield pid


def kill(pids: Iterable[int], wait: float = 10.0) -> None:
    """SIGKILL each process that still runs, and wait up to ``wait`` seconds until all have ended."""
    started = {pid: start for pid in pids if (start := _start_ticks(pid))}
    for pid in started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(_start_ticks(pid) == start for pid, start in started.items()):
        time.sleep(0.1)
