"""Joining a Ray runtime: a private local one, or a cluster with token authentication on."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import ray
from ray.exceptions import AuthenticationError

from autoaug._process import is_gone, kill, processes_using, this_process
from autoaug.errors import ConfigError
from autoaug.tuning._tune_internals import turn_clusters_off

_TOKEN_HINT = (
    "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH=<the cluster's token file> (or RAY_AUTH_TOKEN) before "
    "`autoaug search`; cluster/local_cluster.py writes them to <dir>/env.sh, see cluster/README.md"
)


_FOLDER_PARENT = "/tmp"
_FOLDER_PREFIX = "autoaug-ray-"
_OWNER_FILE = "owner"


def connect_ray(address: str | None) -> None:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``, which a Ray job sets), else start a local runtime.

    Raises:
        ConfigError: the cluster cannot be reached or refuses our token, with the fix in the message.
    """
    if ray.is_initialized():
        return
    # Ray's driver replaces the SIGTERM handler with one that aborts; keep the caller's (the CLI's Ctrl-C).
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        _init(address or os.environ.get("RAY_ADDRESS"))
    finally:
        if callable(sigterm) and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, sigterm)


def _forward_worker_output() -> bool:
    """Whether the workers' stdout/stderr is printed here: only when this process logs debug lines (``autoaug -v``).

    Otherwise a terminal or pipe gets only autoaug's own lines: Ray prints workers' lines with colour codes and,
    when it stops a trial's actor, that worker's SIGTERM traceback. Trial errors reach the trials table anyway.
    """
    return logging.getLogger("autoaug").isEnabledFor(logging.DEBUG)


def _ray_logging_level() -> int:
    """Ray's driver logs warnings, or only what the caller's level for the ``ray`` logger lets through, when higher
    (``autoaug search --quiet``): ``ray.init`` sets that logger's level again."""
    return max(logging.WARNING, logging.getLogger("ray").getEffectiveLevel())


def _init(address: str | None) -> None:
    if not address:
        _start_local()
        return
    try:
        ray.init(address=address, logging_level=_ray_logging_level(), log_to_driver=_forward_worker_output())
    except (AuthenticationError, ConnectionError, TimeoutError) as exc:
        # Ray reports a refused token and an unreachable cluster alike, so name both causes.
        token = "a token that the cluster may have refused" if _token_given() else "no token"
        raise ConfigError(
            f"--address {address}: could not join the Ray cluster ({exc}); this shell gave {token}. Check that "
            f"the cluster runs (cluster/README.md, or leave --address out to run locally) and {_TOKEN_HINT}"
        ) from exc


def _start_local() -> None:
    """A local runtime inside a folder only this user can enter (0700), removed when the process exits.

    Ray opens its own temp dir to everyone (0777, for sharing /tmp/ray between users), so it gets one
    inside that folder. Without a token of the user's (``RAY_AUTH_TOKEN``/``RAY_AUTH_TOKEN_PATH``) the
    runtime gets a fresh one there (0600): Ray would otherwise write ``~/.ray/auth_token`` readable by
    every local user. Ray Tune's lock files go there too, not to ``/tmp/_ray_lockfiles``, where they
    would stay. Its ports listen on 127.0.0.1 only (:func:`turn_clusters_off`). What a killed
    process left behind is removed first (:func:`reclaim_stale_runtimes`).
    """
    reclaim_stale_runtimes()
    folder = Path(tempfile.mkdtemp(prefix=_FOLDER_PREFIX, dir=_FOLDER_PARENT))  # mode 0700
    (folder / _OWNER_FILE).write_text(this_process())
    own_token = not _token_given()
    if own_token:
        token = folder / "auth_token"
        descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)  # read by ray.init, inherited by its processes
    os.environ["RAY_TMPDIR"] = str(folder)  # Ray Tune's lock files (_ray_lockfiles), not left in /tmp
    atexit.register(_stop_local, folder, own_token)
    turn_clusters_off()
    ray.init(include_dashboard=False, logging_level=_ray_logging_level(), log_to_driver=_forward_worker_output(),
             _temp_dir=str(folder / "ray"))


def reclaim_stale_runtimes() -> None:
    """Remove the local runtimes of this user's processes that were killed before they could stop them.

    A killed process leaves its folder (logs, sockets, spilled objects, token) and some of Ray's
    agents, which outlive their node. A folder counts as stale when the process named in its
    ``owner`` file has ended; the processes that still hold files open in it are killed.
    """
    for folder in runtime_folders():
        if is_stale(folder):
            kill(processes_using(folder))
            shutil.rmtree(folder, ignore_errors=True)


def runtime_folders() -> set[Path]:
    """The folders of local runtimes on this machine (every user's), in use or left behind."""
    return set(Path(_FOLDER_PARENT).glob(_FOLDER_PREFIX + "*"))


def is_stale(folder: Path) -> bool:
    """Whether the local runtime in ``folder`` is this user's and the process that started it has ended."""
    try:
        return folder.stat().st_uid == os.getuid() and is_gone((folder / _OWNER_FILE).read_text())
    except OSError:  # no owner file (yet): not ours to judge
        return False


def _stop_local(folder: Path, own_token: bool) -> None:
    """Stop the local runtime, then remove its folder (sessions, logs, sockets, spilled objects, token)."""
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)
    if os.environ.get("RAY_TMPDIR") == str(folder):
        del os.environ["RAY_TMPDIR"]
    if own_token and os.environ.get("RAY_AUTH_TOKEN_PATH") == str(folder / "auth_token"):
        del os.environ["RAY_AUTH_TOKEN_PATH"]


def _token_given() -> bool:
    return any(os.environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
