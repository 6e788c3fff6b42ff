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

from autoaug.errors import ConfigError

_TOKEN_HINT = (
    "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH=<the cluster's token file> (or RAY_AUTH_TOKEN) before "
    "`autoaug search`; cluster/local_cluster.py writes them to <dir>/env.sh, see cluster/README.md"
)


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


def _init(address: str | None) -> None:
    if not address:
        _start_local()
        return
    try:
        ray.init(address=address, logging_level=logging.WARNING)
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
    every local user. Ray's ports listen on every interface whatever the node address (measured with
    Ray 2.60); the token guards them.
    """
    folder = Path(tempfile.mkdtemp(prefix="autoaug-ray-", dir="/tmp"))  # mode 0700
    own_token = not _token_given()
    if own_token:
        token = folder / "auth_token"
        descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)  # read by ray.init, inherited by its processes
    atexit.register(_stop_local, folder, own_token)
    ray.init(include_dashboard=False, logging_level=logging.WARNING, _temp_dir=str(folder / "ray"))


def _stop_local(folder: Path, own_token: bool) -> None:
    """Stop the local runtime, then remove its folder (sessions, logs, sockets, spilled objects, token)."""
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)
    if own_token and os.environ.get("RAY_AUTH_TOKEN_PATH") == str(folder / "auth_token"):
        del os.environ["RAY_AUTH_TOKEN_PATH"]


def _token_given() -> bool:
    return any(os.environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
