"""Searches on a real local multi-node Ray cluster and a real MLflow tracking server, all on 127.0.0.1.

The cluster comes from ``cluster/local_cluster.py`` (a head with no CPUs plus worker nodes with one
CPU each, token authentication on) and the server from ``cluster/mlflow_server.sh``. Each search runs
as its own ``autoaug search --address ...`` process, so a test can kill a worker node or the driver.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from autoaug._process import processes_using
from autoaug.errors import ConfigError
from autoaug.records import OPTUNA_ARTIFACT, attempts, disagreements, find_search, trial_runs
from autoaug.vocabulary import TAG_BASELINE, TAG_NODE, TAG_OUTCOME, TAG_REASON, TAG_RETRIES, TAG_TRIAL_ID
from local_processes import free_port, healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / "cluster" / "local_cluster.py"
SERVER_SCRIPT = ROOT / "cluster" / "mlflow_server.sh"
AUTOAUG = Path(sys.executable).with_name("autoaug")
HELD_SEARCH = ROOT / "tests" / "held_search.py"
HELD_SPACE = "version: 1\nname: held\nstructure: rand\nops: [hold]\nnum_ops: [1, 1]\n"
TINY = ["--backbone", "test_resnet", "--weights", "none", "--train-size", "200", "--seed", "0",
        "--space", "randaugment", "--baselines", "none"]
SEARCH_TIMEOUT = 420


@dataclass
class Cluster:
    folder: Path
    address: str
    env: dict[str, str]

    def run(self, command: str, *args: str) -> dict[str, Any]:
        result = subprocess.run([sys.executable, str(CLUSTER_SCRIPT), command, "--dir", str(self.folder), *args],
                                env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads((self.folder / "cluster.json").read_text())

    def worker_ids(self) -> dict[str, str]:
        state = json.loads((self.folder / "cluster.json").read_text())
        return {node["name"]: node["node_id"] for node in state["nodes"] if not node["head"]}


def _processes_of(folder: Path) -> list[int]:
    """Live processes started for the cluster in ``folder``: each inherited its token path from the script, and
    holds its logs open there (Ray's agents overwrite their environment with their process title)."""
    marker = f"RAY_AUTH_TOKEN_PATH={folder}/auth_token".encode()
    found = set(processes_using(folder))
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes() and _running(int(environ.parent.name)):
                found.add(int(environ.parent.name))
        except OSError:
            continue
    return sorted(found)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # A short folder: Ray's socket paths under it must stay within the 107-character Unix limit.
    folder = Path(tempfile.mkdtemp(prefix="aa-cl-", dir="/tmp"))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(folder / "auth_token"),
           "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    handle = Cluster(folder, "", env)
    try:
        state = handle.run("up", "--workers", "2", "--cpus-per-worker", "1", "--head-cpus", "0")
        handle.address = state["address"]
        yield handle
    finally:
        subprocess.run([sys.executable, str(CLUSTER_SCRIPT), "down", "--dir", str(folder)], env=env, timeout=300)
        left = _processes_of(folder)  # every node process and every Ray worker they started
        shutil.rmtree(folder, ignore_errors=True)
        assert not left, f"processes left after `down`: {left}"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(["bash", str(SERVER_SCRIPT), "--dir", str(folder), "--port", str(port)],
                              env={**os.environ, "PYTHON": sys.executable}, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: healthy(uri), 120, "the MLflow server to answer")
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def _wait_for(condition: Callable[[], Any], timeout: float, what: str, process: subprocess.Popen | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"the search exited ({process.returncode}) while waiting for {what}")
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _start_search(cluster: Cluster, uri: str, storage: Path, name: str, *flags: str,
                  resume: bool = False, address_in_env: bool = False, held_at: Path | None = None) -> subprocess.Popen:
    """``autoaug search`` joining the cluster by ``--address``, or by ``RAY_ADDRESS`` as inside a Ray job.

    With ``held_at``, the command is ``tests/held_search.py`` with that gate (for a space of op ``hold``).
    """
    env = {**cluster.env, "RAY_ADDRESS": cluster.address} if address_in_env else cluster.env
    program = [str(AUTOAUG)] if held_at is None else [sys.executable, str(HELD_SEARCH), str(held_at)]
    command = [*program, "search", "--tracking-uri", uri, "--storage-path", str(storage)]
    command += [] if address_in_env else ["--address", cluster.address]
    command += ["--resume", name] if resume else [*TINY, "--name", name, *flags]
    log = open(storage.parent / f"{name}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _finish(process: subprocess.Popen, log: Path) -> None:
    try:
        code = process.wait(timeout=SEARCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the search ran past {SEARCH_TIMEOUT} s:\n{log.read_text()[-3000:]}")
    assert code == 0, log.read_text()[-5000:]


def _runs(uri: str, name: str) -> list[Run]:
    client = MlflowClient(uri)
    try:
        return trial_runs(client, find_search(client, "autoaug", name))
    except ConfigError:
        return []


def _kill_between_state_writes(driver: subprocess.Popen, state: Path) -> None:
    """SIGKILL the driver's process group at a moment it holds no file open in Tune's saved ``state``.

    Ray Tune copies its state there file by file, not atomically; a kill in the middle of a copy would
    leave a half-written file, which no resume can load.
    """
    driver.send_signal(signal.SIGSTOP)
    while driver.pid in set(processes_using(state)):
        driver.send_signal(signal.SIGCONT)
        time.sleep(0.05)
        driver.send_signal(signal.SIGSTOP)
    os.killpg(driver.pid, signal.SIGKILL)


def _assert_agreement(uri: str, name: str, total: int) -> list[Run]:
    """Optuna and MLflow agree: every trial ended once, completed or pruned, and all requested trials ran."""
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", name)
    assert parent.info.status == "FINISHED"
    runs = trial_runs(client, parent)
    trial_ids = [run.data.tags[TAG_TRIAL_ID] for run in runs]
    assert len(runs) == total and len(set(trial_ids)) == total  # nothing lost, nothing counted twice
    assert all(run.info.status == "FINISHED" for run in runs)
    assert {run.data.tags[TAG_OUTCOME] for run in runs} <= {"completed", "pruned"}
    with tempfile.TemporaryDirectory() as folder:
        view = json.loads(Path(client.download_artifacts(parent.info.run_id, OPTUNA_ARTIFACT, folder)).read_text())
    searched = {run.data.tags[TAG_TRIAL_ID]: run.data.tags[TAG_OUTCOME] for run in runs if TAG_BASELINE not in run.data.tags}
    assert sorted(entry["tune_trial_id"] for entry in view) == sorted(searched)
    outcome = {"COMPLETE": "completed", "PRUNED": "pruned"}
    assert {entry["tune_trial_id"]: outcome.get(entry["state"]) for entry in view} == searched
    assert disagreements(view, runs) == []
    return runs


def test_the_cluster_script_gives_each_node_its_resources_and_keeps_the_token_private(cluster: Cluster) -> None:
    # Stopping it cleanly (no process left) is checked when the module's cluster goes down.
    state = json.loads((cluster.folder / "cluster.json").read_text())
    assert [(n["name"], n["cpus"]) for n in state["nodes"]] == [("head", 0), ("worker-1", 1), ("worker-2", 1)]
    assert all(node["node_id"] and _running(node["pid"]) for node in state["nodes"])
    assert len(_processes_of(cluster.folder)) > len(state["nodes"])  # what `down` must stop, seen from here
    assert (cluster.folder / "auth_token").stat().st_mode & 0o077 == 0
    assert f"RAY_ADDRESS={state['address']}" in (cluster.folder / "env.sh").read_text()
    assert state["address"].startswith("127.0.0.1:")


def test_a_search_without_the_token_is_refused_with_the_fix(cluster: Cluster, tmp_path: Path) -> None:
    env = {key: value for key, value in cluster.env.items() if not key.startswith("RAY_AUTH")}
    env["RAY_gcs_server_port_wait_time_s"] = "3"  # give up on the refused connection after 3 tries, not 20
    result = subprocess.run([str(AUTOAUG), "search", *TINY, "--address", cluster.address, "--tracking-uri",
                             f"sqlite:///{tmp_path}/mlflow.db"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "token" in result.stderr and "RAY_AUTH_TOKEN_PATH" in result.stderr


def test_trials_spread_over_worker_nodes_and_appear_live_on_the_server(
    cluster: Cluster, tracking_server: str, tmp_path: Path
) -> None:
    search = _start_search(cluster, tracking_server, tmp_path / "tune", "spread",
                           "--trials", "3", "--epochs", "2", "--concurrency", "2", address_in_env=True)
    live = _wait_for(lambda: [r for r in _runs(tracking_server, "spread") if r.info.status == "RUNNING"],
                     SEARCH_TIMEOUT, "a child run while the search runs", search)
    assert live and search.poll() is None  # visible in the tracking server before the search ends
    _finish(search, tmp_path / "spread.log")
    runs = _assert_agreement(tracking_server, "spread", total=4)
    nodes = {run.data.tags[TAG_NODE] for run in runs}
    assert nodes == set(cluster.worker_ids().values())  # both workers ran trials; the head (0 CPUs) none


def _arrivals(gate: Path) -> dict[str, str]:
    """The trials held at the gate of ``tests/held_search.py``: trial id -> the node it runs on."""
    return {path.name.removeprefix("arrived-"): path.read_text() for path in gate.glob("arrived-*")}


def test_losing_a_worker_node_mid_search_retries_its_trial_and_loses_nothing(
    cluster: Cluster, tracking_server: str, tmp_path: Path
) -> None:
    # Both searched trials hold (op `hold`) until the gate opens: the first keeps one worker's only CPU, so
    # the second runs on the other one. So a trial is known to run on worker-2 when its node is killed.
    gate, space = tmp_path / "gate", tmp_path / "held.yaml"
    gate.mkdir()
    space.write_text(HELD_SPACE)
    search = _start_search(cluster, tracking_server, tmp_path / "tune", "lose-node", "--trials", "2",
                           "--epochs", "2", "--no-early-stopping", "--concurrency", "2", "--confirm-seeds", "0",
                           "--space", str(space), held_at=gate)
    workers = cluster.worker_ids()
    held = _wait_for(lambda: len(set(_arrivals(gate).values())) == 2 and _arrivals(gate), SEARCH_TIMEOUT,
                     "a held trial on each worker node", search)
    assert set(held.values()) == set(workers.values())
    (victim_trial,) = [trial for trial, node in held.items() if node == workers["worker-2"]]
    try:
        cluster.run("kill-worker", "2")
        cluster.run("add-worker")  # later tests get two workers again
    finally:
        (gate / "open").touch()
    _finish(search, tmp_path / "lose-node.log")

    runs = _assert_agreement(tracking_server, "lose-node", total=3)
    (retried,) = [run for run in runs if run.data.tags[TAG_TRIAL_ID] == victim_trial]
    assert int(retried.data.tags[TAG_RETRIES]) >= 1
    assert retried.data.tags[TAG_NODE] != workers["worker-2"]  # it finished elsewhere
    assert retried.data.tags[TAG_OUTCOME] == "completed"
    earlier = attempts(MlflowClient(tracking_server), retried)  # the attempt on the lost node, kept beneath it
    assert [run.info.status for run in earlier] == ["FAILED"] * int(retried.data.tags[TAG_RETRIES])
    assert earlier[0].data.tags[TAG_REASON].endswith("the trial ran again from its first epoch in a new run")


def test_a_stopped_or_killed_driver_resumes_with_optuna_and_mlflow_in_agreement(
    cluster: Cluster, tracking_server: str, tmp_path: Path
) -> None:
    storage, name = tmp_path / "tune", "resume-me"

    def finished() -> int:  # interrupted runs are closed as failed until a resume reopens them: not counted
        return sum(r.data.tags.get(TAG_OUTCOME) in ("completed", "pruned") for r in _runs(tracking_server, name))

    def running_after(done: int) -> Callable[[], bool]:
        return lambda: finished() > done and any(r.info.status == "RUNNING" for r in _runs(tracking_server, name))

    # Ctrl-C: Tune saves its state, the open runs are closed as interrupted, the exit code says so.
    search = _start_search(cluster, tracking_server, storage, name, "--trials", "4", "--epochs", "2",
                           "--concurrency", "2")
    _wait_for(running_after(0), SEARCH_TIMEOUT, "one finished and one running trial", search)
    os.killpg(search.pid, signal.SIGINT)
    assert search.wait(timeout=120) == 130
    client = MlflowClient(tracking_server)
    assert find_search(client, "autoaug", name).info.status == "KILLED"
    runs = _runs(tracking_server, name)
    assert runs and not [r for r in runs if r.info.status == "RUNNING"]
    interrupted = [r for r in runs if r.data.tags.get(TAG_OUTCOME) == "failed"]
    assert interrupted and all(f"--resume {name}" in r.data.tags[TAG_REASON] for r in interrupted)

    # A crash of the resumed driver: nothing is closed or saved on the way out.
    resumed = _start_search(cluster, tracking_server, storage, name, resume=True)
    _wait_for(running_after(finished()), SEARCH_TIMEOUT, "progress after resuming", resumed)
    _kill_between_state_writes(resumed, storage)
    resumed.wait(timeout=60)
    assert any(r.info.status == "RUNNING" for r in _runs(tracking_server, name))

    last = _start_search(cluster, tracking_server, storage, name, resume=True)
    _finish(last, tmp_path / f"{name}.log")
    _assert_agreement(tracking_server, name, total=5)
