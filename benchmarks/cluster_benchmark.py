"""Benchmark searches on a local multi-node Ray cluster: throughput and per-trial overhead.

For 1 and for 2 worker nodes (one CPU each, started with ``cluster/local_cluster.py``, token auth on)
and a real MLflow tracking server on 127.0.0.1, runs the same small search (tiny backbone, early
stopping off so every trial does the same work) with one trial per worker at a time, and writes
``benchmarks/results/cluster.json``::

    python benchmarks/cluster_benchmark.py                    # about 4 minutes on 2 cores
    python benchmarks/cluster_benchmark.py --trials 8 --train-size 1000

Figures per cluster size: wall time, trials per hour, and where a trial's slot time goes:

- ``work``: model build plus training, augmentation and scoring, as measured inside the trial;
- ``tracking``: the driver's MLflow calls for the trial (timed around each call);
- ``data_transfer``: one fetch of the task data and weights from the driver's object store to a
  worker node (paid once per node, since workers are reused), spread over the node's trials;
- ``scheduling``: the rest (placement, actor start-up and reuse, result reporting, imports).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ray
from mlflow import MlflowClient

from autoaug.config import load_config
from autoaug.records import SearchTracker
from autoaug.tuning import prepare_search, run_search

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cluster.json"
_TRACKED = ("start_trial", "log_metrics", "end_trial", "set_trial_tags")
_WORK = ("seconds_train", "seconds_augment", "seconds_eval")


@contextmanager
def local_cluster(workers: int) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """A head (no CPUs) plus ``workers`` one-CPU nodes, and the environment a driver needs to join it."""
    folder = Path(tempfile.mkdtemp(prefix="aa-bench-", dir="/tmp"))
    script = [sys.executable, str(ROOT / "cluster" / "local_cluster.py")]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    try:
        subprocess.run([*script, "up", "--dir", str(folder), "--workers", str(workers)], env=env, check=True,
                       capture_output=True)
        state = json.loads((folder / "cluster.json").read_text())
        yield state, {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(folder / "auth_token")}
    finally:
        subprocess.run([*script, "down", "--dir", str(folder)], env=env, check=True, capture_output=True)


@contextmanager
def tracking_server(folder: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(["bash", str(ROOT / "cluster" / "mlflow_server.sh"), "--dir", str(folder),
                               "--port", str(port)], env={**os.environ, "PYTHON": sys.executable},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def time_tracking() -> dict[str, float]:
    """Accumulate the seconds the driver spends in each per-trial MLflow call."""
    spent = {name: 0.0 for name in _TRACKED}

    def timed(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started
        return wrapper

    for name in _TRACKED:
        setattr(SearchTracker, name, timed(name, getattr(SearchTracker, name)))
    return spent


def fetch_seconds(payload: Any, node_names: list[str]) -> tuple[float, float]:
    """Median seconds for a task on each worker node to fetch ``payload`` from the driver's object store.

    Returns the first fetch on a fresh worker process (it also imports what unpickling needs: torch,
    autoaug) and a second fetch of a new copy on the now warm worker (the transfer alone).
    """

    @ray.remote(num_cpus=0)
    def fetch(wrapped: list[ray.ObjectRef]) -> float:
        started = time.perf_counter()
        ray.get(wrapped[0])
        return time.perf_counter() - started

    first, warm = [], []
    for name in node_names:
        pinned = fetch.options(resources={f"node_{name}": 0.01})
        first.append(ray.get(pinned.remote([ray.put(payload)])))
        warm.append(ray.get(pinned.remote([ray.put(payload)])))
    return sorted(first)[len(first) // 2], sorted(warm)[len(warm) // 2]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the search on the cluster at ``args.address`` from this process (the driver) and measure it."""
    spent = time_tracking()
    workers = len(args.nodes)
    config = load_config(overrides={
        "name": f"cluster-bench-{workers}", "address": args.address, "tracking_uri": args.tracking_uri,
        "storage_path": args.storage_path, "backbone": args.backbone, "weights": "none",
        "train_size": args.train_size, "trials": args.trials, "baselines": ["none"], "epochs": args.epochs,
        "early_stopping": False, "concurrency": workers, "cpus_per_trial": 1,
    })
    prepared = prepare_search(config)
    outcome = run_search(prepared)
    first_fetch, transfer = fetch_seconds((prepared.task, prepared.weights), args.nodes)
    client = MlflowClient(args.tracking_uri)
    runs = [client.get_run(row.run_id) for row in outcome.rows]
    work = sum(m.value for r in runs for key in _WORK for m in client.get_metric_history(r.info.run_id, key))
    work += sum(r.data.metrics.get("seconds_setup", 0.0) for r in runs)
    slots = sum((r.info.end_time - r.info.start_time) / 1000 for r in runs)
    trials = len(outcome.rows)
    tracking = sum(spent.values()) / trials
    per_trial_transfer = transfer * workers / trials
    capacity = outcome.seconds * workers / trials  # worker-seconds available per trial
    return {
        "worker_nodes": workers,
        "trials": trials,
        "outcomes": {o: sum(r.outcome == o for r in outcome.rows) for o in ("completed", "pruned", "failed")},
        "nodes_used": len({r.data.tags.get("autoaug.node_id") for r in runs}),
        "wall_seconds": round(outcome.seconds, 1),
        "trials_per_hour": round(trials / outcome.seconds * 3600, 1),
        "per_trial_seconds": {
            "worker_capacity": round(capacity, 2),
            "slot_driver_view": round(slots / trials, 2),
            "work": round(work / trials, 2),
            "tracking": round(tracking, 3),
            "data_transfer": round(per_trial_transfer, 3),
            "scheduling": round(capacity - work / trials - tracking - per_trial_transfer, 2),
        },
        "tracking_seconds_by_call": {name: round(value / trials, 4) for name, value in spent.items()},
        "fetch_seconds_per_node": {"data_and_weights": round(transfer, 3),
                                   "first_on_a_fresh_worker_with_imports": round(first_fetch, 3)},
    }


def run(workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """One cluster size: start the cluster and a tracking server, drive the search from a child process.

    The child gets the cluster's token in its environment before it imports Ray (Ray reads the
    authentication settings once per process).
    """
    with local_cluster(workers) as (state, env), tempfile.TemporaryDirectory(prefix="aa-bench-") as folder:
        with tracking_server(Path(folder) / "mlflow") as uri:
            nodes = [node["name"] for node in state["nodes"] if not node["head"]]
            command = [sys.executable, __file__, "--measure", "--address", state["address"], "--tracking-uri", uri,
                       "--storage-path", f"{folder}/tune", "--nodes", *nodes, "--trials", str(args.trials),
                       "--train-size", str(args.train_size), "--epochs", str(args.epochs), "--backbone", args.backbone]
            result = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=9, help="searched trials, after the 'none' baseline")
    parser.add_argument("--train-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--backbone", default="test_resnet")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # child: drive one search
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--tracking-uri", help=argparse.SUPPRESS)
    parser.add_argument("--storage-path", help=argparse.SUPPRESS)
    parser.add_argument("--nodes", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)), flush=True)
        return
    results = []
    for workers in args.workers:
        results.append(run(workers, args))
        print(json.dumps(results[-1], indent=2), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "setup": {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs (figures are noisy)",
            "cluster": "cluster/local_cluster.py: head with 0 CPUs + N worker nodes with 1 CPU each, token auth on",
            "tracking": "cluster/mlflow_server.sh on 127.0.0.1 (sqlite backend, served artifacts)",
            "search": {"backbone": args.backbone, "weights": "none", "train_size": args.train_size,
                       "epochs": args.epochs, "trials": args.trials + 1, "early_stopping": False,
                       "concurrency": "one trial per worker node"},
        },
        "results": results,
    }, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
