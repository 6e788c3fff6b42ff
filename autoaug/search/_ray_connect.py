"""Joining a Ray runtime: a private local one, or a cluster with token authentication on."""

from __future__ import annotations

import logging
import os
import signal
import tempfile

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
        if callable(sigterm):
            signal.signal(signal.SIGTERM, sigterm)


def _init(address: str | None) -> None:
    if not address:
        temp_dir = tempfile.mkdtemp(prefix="autoaug-ray-", dir="/tmp")
        ray.init(include_dashboard=False, logging_level=logging.WARNING, _temp_dir=temp_dir)
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


def _token_given() -> bool:
    return any(os.environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
