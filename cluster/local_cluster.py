#!/usr/bin/env python3
"""Start and stop a multi-node Ray cluster on one machine, for development and tests.

Each node is its own ``ray start --block`` process group (head plus N worker nodes, each with its
own CPUs, GPUs, temp dir and a custom resource ``node_<name>``), so a node can be stopped, or killed
to simulate losing it, by its process group without touching any other Ray runtime on the machine.
Token authentication stays on: a fresh token is written to ``<dir>/auth_token`` (mode 0600) and
every node and client gets it through ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH``.
Everything binds to 127.0.0.1.

    python cluster/local_cluster.py up --dir /tmp/aa-cluster --workers 2
    source /tmp/aa-cluster/env.sh          # RAY_ADDRESS, RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH
    autoaug search --address "$RAY_ADDRESS" --tracking-uri http://127.0.0.1:5000
    python cluster/local_cluster.py kill-worker --dir /tmp/aa-cluster 1   # lose worker-1
    python cluster/local_cluster.py add-worker --dir /tmp/aa-cluster
    python cluster/local_cluster.py down --dir /tmp/aa-cluster

Only the standard library is imported; ``ray`` must be on PATH (or next to this Python).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _ray_executable() -> str:
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.exists() else shutil.which("ray")
    if not found:
        sys.exit("local_cluster: no `ray` executable beside this Python or on PATH (pip install 'ray[tune]')")
    return found


def auth_env(folder: Path) -> dict[str, str]:
    """Environment variables that let a node or client authenticate to the cluster in ``folder``."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(folder / "auth_token")}


def _load(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    if not path.is_file():
        sys.exit(f"local_cluster: no cluster in {folder} (no {STATE_FILE}); start one with `up --dir {folder}`")
    return json.loads(path.read_text())


def _save(folder: Path, state: dict[str, Any]) -> None:
    (folder / STATE_FILE).write_text(json.dumps(state, indent=2))
    env = {**auth_env(folder), "RAY_ADDRESS": state["address"]}
    lines = [f"export {key}={value}" for key, value in env.items()]
    (folder / "env.sh").write_text("\n".join(lines) + "\n")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _start_node(folder: Path, state: dict[str, Any], name: str, cpus: float, gpus: int, head: bool) -> dict[str, Any]:
    """Start one node as its own process group and wait until it has registered with the cluster."""
    node_dir = folder / name
    node_dir.mkdir(parents=True, exist_ok=True)
    command = [
        _ray_executable(), "start", "--block", "--disable-usage-stats",
        "--node-ip-address", HOST,
        f"--num-cpus={cpus:g}", f"--num-gpus={gpus}",
        f"--resources={json.dumps({f'node_{name}': 1})}",
        f"--object-store-memory={state['object_store_mb'] * 1024 * 1024}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
    ]
    if head:
        command += [
            "--head", f"--port={state['port']}", f"--temp-dir={node_dir / 'ray'}",
            f"--include-dashboard={'true' if state['dashboard'] else 'false'}",
            f"--dashboard-host={HOST}", f"--dashboard-port={state['dashboard_port']}",
        ]
    else:
        command += [f"--address={state['address']}"]
    log = open(node_dir / "ray-start.log", "ab")  # noqa: SIM115 - the child keeps writing to it
    env = {**os.environ, **auth_env(folder)}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    node = {"name": name, "pid": process.pid, "pgid": process.pid, "cpus": cpus, "gpus": gpus, "head": head}
    _wait_registered(folder, state, node, process)
    return node


def _wait_registered(folder: Path, state: dict[str, Any], node: dict[str, Any], process: subprocess.Popen[bytes]) -> None:
    """Poll ``ray list nodes`` until the node's custom resource shows up alive."""
    deadline = time.monotonic() + state["timeout"]
    env = {**os.environ, **auth_env(folder)}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"local_cluster: node {node['name']} exited (code {process.returncode}); "
                     f"see {folder / node['name'] / 'ray-start.log'}")
        node_id = _node_id(state["address"], node["name"], env)
        if node_id:
            node["node_id"] = node_id
            return
        time.sleep(1.0)
    os.killpg(node["pgid"], signal.SIGKILL)
    sys.exit(f"local_cluster: node {node['name']} did not register within {state['timeout']} s; "
             f"see {folder / node['name'] / 'ray-start.log'}")


def _node_id(address: str, name: str, env: dict[str, str]) -> str | None:
    """The Ray node id of the alive node that carries ``node_<name>``, if it has registered."""
    script = (
        "import json, ray\n"
        f"ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False)\n"
        "print(json.dumps([(n['NodeID'], n['Alive'], n['Resources']) for n in ray.nodes()]))\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return None
    for node_id, alive, resources in json.loads(result.stdout.strip().splitlines()[-1]):
        if alive and f"node_{name}" in resources:
            return str(node_id)
    return None


def _node_pids(pgid: int) -> set[int]:
    """The node's process group plus every descendant (Ray workers put themselves in their own groups)."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], groups[pid] = int(fields[1]), int(fields[2])
    found = {pid for pid, group in groups.items() if group == pgid}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return found


def _signal_all(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop_node(node: dict[str, Any], kill: bool, grace: float = 8.0) -> None:
    """SIGTERM (graceful) or SIGKILL (simulated node loss) to the node's processes; wait until all are gone."""
    pids = _node_pids(node["pgid"])
    _signal_all(pids, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    _signal_all({pid for pid in pids if _alive(pid)}, signal.SIGKILL)
    while any(_alive(pid) for pid in pids):
        time.sleep(0.1)


def up(args: argparse.Namespace) -> None:
    folder: Path = args.dir.resolve()
    if (folder / STATE_FILE).exists() and any(_alive(n["pid"]) for n in _load(folder)["nodes"]):
        sys.exit(f"local_cluster: a cluster is already running in {folder}; `down --dir {folder}` first")
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / "auth_token"
    token.unlink(missing_ok=True)
    descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, even briefly
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))
    port = args.port or _free_port()
    state: dict[str, Any] = {
        "address": f"{HOST}:{port}", "port": port, "dashboard": args.dashboard_port is not None,
        "dashboard_port": args.dashboard_port or _free_port(),
        "object_store_mb": args.object_store_mb, "timeout": args.timeout,
        "cpus_per_worker": args.cpus_per_worker, "gpus_per_worker": args.gpus_per_worker, "nodes": [],
    }
    try:
        state["nodes"].append(_start_node(folder, state, "head", args.head_cpus, 0, head=True))
        _save(folder, state)
        for _ in range(args.workers):
            _add_worker(folder, state)
    except BaseException:
        for node in state["nodes"]:
            _stop_node(node, kill=True)
        raise
    print(json.dumps(state, indent=2))


def _add_worker(folder: Path, state: dict[str, Any]) -> dict[str, Any]:
    index = 1 + max((int(n["name"].split("-")[1]) for n in state["nodes"] if not n["head"]), default=0)
    node = _start_node(folder, state, f"worker-{index}", state["cpus_per_worker"], state["gpus_per_worker"], head=False)
    state["nodes"].append(node)
    _save(folder, state)
    return node


def add_worker(args: argparse.Namespace) -> None:
    folder = args.dir.resolve()
    print(json.dumps(_add_worker(folder, _load(folder)), indent=2))


def kill_worker(args: argparse.Namespace) -> None:
    folder = args.dir.resolve()
    state = _load(folder)
    name = f"worker-{args.index}"
    node = next((n for n in state["nodes"] if n["name"] == name), None)
    if node is None:
        sys.exit(f"local_cluster: no node {name} in {folder}")
    _stop_node(node, kill=True)
    state["nodes"].remove(node)
    _save(folder, state)
    print(f"killed {name} (process group {node['pgid']})")


def down(args: argparse.Namespace) -> None:
    folder = args.dir.resolve()
    state = _load(folder)
    for node in [n for n in state["nodes"] if not n["head"]] + [n for n in state["nodes"] if n["head"]]:
        _stop_node(node, kill=False)
    state["nodes"] = []
    _save(folder, state)
    print(f"stopped the cluster in {folder}")


def status(args: argparse.Namespace) -> None:
    state = _load(args.dir.resolve())
    for node in state["nodes"]:
        alive = "alive" if _alive(node["pid"]) else "gone"
        print(f"{node['name']:<10} {alive:<6} pgid {node['pgid']:<8} cpus {node['cpus']:g} gpus {node['gpus']} "
              f"node_id {node.get('node_id', '?')}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text in [
        ("up", up, "start a head and N worker nodes"),
        ("add-worker", add_worker, "start one more worker node"),
        ("kill-worker", kill_worker, "SIGKILL a worker node's processes (simulates losing the node)"),
        ("down", down, "stop every node of the cluster"),
        ("status", status, "list the nodes"),
    ]:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--dir", type=Path, required=True, help="folder holding the cluster's state, token and logs")
        sub.set_defaults(handler=handler)
        if name == "up":
            sub.add_argument("--workers", type=int, default=2, help="worker nodes (default: %(default)s)")
            sub.add_argument("--cpus-per-worker", type=float, default=1, help="default: %(default)s")
            sub.add_argument("--gpus-per-worker", type=int, default=0, help="default: %(default)s")
            sub.add_argument("--head-cpus", type=float, default=0, help="CPUs for trials on the head (default: 0)")
            sub.add_argument("--port", type=int, default=0, help="GCS port (default: a free one)")
            sub.add_argument("--dashboard-port", type=int, default=None,
                             help="serve the Ray dashboard (and the job API) on 127.0.0.1 at this port (default: none)")
            sub.add_argument("--object-store-mb", type=int, default=300, help="per node (default: %(default)s)")
            sub.add_argument("--timeout", type=float, default=120, help="seconds to wait for each node")
        if name == "kill-worker":
            sub.add_argument("index", type=int, help="N of worker-N")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
