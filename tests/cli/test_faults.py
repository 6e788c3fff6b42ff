"""Bad input and faults through the CLI: what the user sees, and what is left in MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from PIL import Image

from autoaug.cli import main
from autoaug.modalities.image import baseline_policies
from autoaug.policy import save_policy
from autoaug.records import DATA_REPORT, find_search, trial_runs
from autoaug.vocabulary import TAG_REASON, TAG_ROLE

AUTOAUG = str(Path(sys.executable).with_name("autoaug"))

TINY = ["--backbone", "test_resnet", "--weights", "none", "--image-size", "16", "--epochs", "1"]


def _command(command: str, tmp_path: Path) -> list[str]:
    """``autoaug search`` or ``autoaug evaluate`` (of one policy file) on tiny settings."""
    if command == "search":
        return ["search", *TINY, "--train-size", "60", "--trials", "1"]
    policy = tmp_path / "trivial.json"
    save_policy(baseline_policies()["trivial_augment_wide"], policy)
    return ["evaluate", str(policy), "--baselines", "none", *TINY, "--train-size", "60"]


@pytest.mark.parametrize("command", ["search", "evaluate"])
def test_an_unreachable_tracking_server_fails_fast_naming_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main([*_command(command, tmp_path), "--tracking-uri", "http://127.0.0.1:9"]) == 2
    seconds = time.monotonic() - started
    error = capsys.readouterr().err
    assert "tracking store http://127.0.0.1:9 cannot be used" in error and "Connection refused" in error
    assert seconds < 90  # seconds, where MLflow's default retries take minutes


@pytest.mark.parametrize("command", ["search", "evaluate"])
def test_a_store_path_that_cannot_be_written_is_named(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    uri = f"sqlite:///{tmp_path}/a_file/mlruns/mlflow.db"
    assert main([*_command(command, tmp_path), "--tracking-uri", uri]) == 2
    error = capsys.readouterr().err
    assert f"tracking store {uri} cannot be used" in error and "Not a directory" in error


def _folders(root: Path) -> tuple[Path, Path]:
    """Training and target folders of two classes, 8-bit RGB images."""
    for split in ("train", "val"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for index in range(4):
                pixels = np.random.default_rng(index).integers(0, 255, (12, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{index}.png")
    return root / "train", root / "val"


@pytest.mark.slow
def test_search_reports_converted_and_skipped_files(
    ray_runtime: None, tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train, val = _folders(tmp_path)
    ramp = np.linspace(0, 65535, 144).reshape(12, 12).astype(np.uint16)
    Image.fromarray(ramp).save(train / "a" / "ramp16.png")
    (train / "b" / "broken.png").write_bytes(b"not a png")
    assert main(["search", "--task", "folders", "--train-dir", str(train), "--val-dir", str(val), *TINY,
                 "--trials", "0", "--baselines", "none", "--tracking-uri", tracking_uri, "--name", "report"]) == 0
    out = capsys.readouterr().out
    assert "converted 1 image file(s) to 8-bit RGB: I;16 x1 (16-bit, divided by 257)" in out
    assert "skipped 1 unreadable image files" in out

    client = MlflowClient(tracking_uri)
    parent = find_search(client, "autoaug", "report")
    report = json.loads(Path(client.download_artifacts(parent.info.run_id, DATA_REPORT, str(tmp_path))).read_text())
    assert report["conversions"] == {"I;16": 1}
    assert [line.split(": ")[0] for line in report["skipped"]] == [str(train / "b" / "broken.png")]


def _start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``autoaug ARGV`` as a user runs it: its own process, output read line by line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([AUTOAUG, *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """The lines the process printed up to the first one holding ``marker`` (fails if it ends first)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            return lines
    process.wait()
    assert process.stderr is not None
    output = "".join(lines) + process.stderr.read()
    pytest.fail(f"exited with {process.returncode} before printing {marker!r}:\n{output}")


def _terminate(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Send SIGTERM, then collect the rest of the output once the process has ended."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    return out, err


@pytest.mark.slow
def test_sigterm_stops_evaluate_like_ctrl_c_and_closes_its_run(tmp_path: Path, tracking_uri: str) -> None:
    policy = tmp_path / "trivial.json"
    save_policy(baseline_policies()["trivial_augment_wide"], policy)
    seeds = [str(seed) for seed in range(30)]  # far more fine-tunes than run before the signal arrives
    process = _start(["evaluate", str(policy), "--baselines", "none", "--seeds", *seeds, *TINY, "--train-size", "60",
                      "--tracking-uri", tracking_uri], tmp_path)
    _read_until(process, "[  1/60]")  # its MLflow run exists: the first fine-tune is logged to it
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("autoaug")
    (run,) = client.search_runs([experiment.experiment_id], f"tags.`{TAG_ROLE}` = 'evaluation'")
    assert run.info.status == "RUNNING"
    out, err = _terminate(process)
    assert process.returncode == 130, err
    assert "autoaug evaluate: interrupted" in err
    assert "[ 60/60]" not in out
    closed = client.get_run(run.info.run_id)
    assert closed.info.status == "KILLED" and closed.data.tags[TAG_REASON].startswith("interrupted")


@pytest.mark.slow
def test_an_evaluation_run_left_running_by_sigkill_is_closed_by_the_next_evaluate(
    tmp_path: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "trivial.json"
    save_policy(baseline_policies()["trivial_augment_wide"], policy)
    evaluate = ["evaluate", str(policy), "--baselines", "none", *TINY, "--train-size", "60", "--tracking-uri",
                tracking_uri, "--output-json", str(tmp_path / "evaluation.json"), "--plot", str(tmp_path / "plot.png")]
    process = _start([*evaluate, "--seeds", *(str(seed) for seed in range(30))], tmp_path)
    _read_until(process, "[  1/60]")  # its run exists and holds a fine-tune
    process.kill()  # nothing can close the run
    process.communicate(timeout=60)
    client = MlflowClient(tracking_uri)
    experiment_id = client.get_experiment_by_name("autoaug").experiment_id
    (killed,) = client.search_runs([experiment_id], f"tags.`{TAG_ROLE}` = 'evaluation'")
    assert killed.info.status == "RUNNING"

    assert main([*evaluate, "--seeds", "0", "1"]) == 0
    closed = client.get_run(killed.info.run_id)
    assert closed.info.status == "KILLED"
    assert f"process {process.pid} on " in closed.data.tags[TAG_REASON]
    assert "test_accuracy/trivial" in closed.data.metrics  # what it had logged is kept
    assert f"closed evaluation run {killed.info.run_name} ({killed.info.run_id}) as KILLED" in capsys.readouterr().out
    runs = client.search_runs([experiment_id], f"tags.`{TAG_ROLE}` = 'evaluation'")
    assert sorted(run.info.status for run in runs) == ["FINISHED", "KILLED"]


@dataclass(frozen=True)
class StoppedSearch:
    """A search stopped by SIGTERM after its first trial, and what it left (read right after it ended)."""

    uri: str
    root: Path
    returncode: int
    err: str
    parent_status: str
    trial_statuses: list[str]


@pytest.fixture(scope="module")
def stopped_search(tmp_path_factory: pytest.TempPathFactory) -> StoppedSearch:
    root = tmp_path_factory.mktemp("stopped")
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    process = _start(["search", *TINY, "--train-size", "100", "--epochs", "2", "--trials", "6", "--name", "stopped",
                      "--tracking-uri", uri, "--no-early-stopping"], root)
    _read_until(process, "[  1/")  # the first trial has ended and been recorded
    _, err = _terminate(process)
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "stopped")
    statuses = [run.info.status for run in trial_runs(client, parent)]
    return StoppedSearch(uri, root, process.returncode, err, parent.info.status, statuses)


@pytest.mark.slow
def test_sigterm_stops_a_search_like_ctrl_c_with_the_resume_command(stopped_search: StoppedSearch) -> None:
    assert stopped_search.returncode == 130, stopped_search.err
    assert "autoaug search --resume stopped" in stopped_search.err
    assert stopped_search.parent_status == "KILLED"
    assert stopped_search.trial_statuses and "RUNNING" not in stopped_search.trial_statuses


@pytest.mark.slow
def test_resume_stops_when_tune_cannot_restore_the_saved_state(stopped_search: StoppedSearch) -> None:
    (pickled,) = (stopped_search.root / "mlruns" / "tune" / "stopped").glob("searcher-state-*.pkl")
    pickled.write_bytes(b"not a pickle")
    client = MlflowClient(stopped_search.uri)
    before = {run.info.run_id for run in trial_runs(client, find_search(client, "autoaug", "stopped"))}
    result = subprocess.run([AUTOAUG, "search", "--resume", "stopped", "--tracking-uri", stopped_search.uri],
                            cwd=stopped_search.root, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr
    assert "Ray Tune could not restore the saved state of the search (UnpicklingError" in result.stderr
    assert "nothing was rerun" in result.stderr
    after = trial_runs(client, find_search(client, "autoaug", "stopped"))
    assert {run.info.run_id for run in after} <= before  # no trial started over


_LOCAL_RUNTIME = """
import os, sys, ray
from autoaug.tuning._ray_connect import connect_ray
connect_ray(None)
print(ray.get(ray.remote(lambda: "task ran").remote()))
print(os.environ["RAY_TMPDIR"], ray._private.worker._global_node.get_temp_dir_path(), os.environ["RAY_AUTH_TOKEN_PATH"],
      flush=True)
sys.stdin.read()  # until the test has looked
"""


@dataclass
class LocalRuntime:
    """A process that started a local Ray runtime with ``connect_ray(None)`` and waits for its stdin to close."""

    process: subprocess.Popen[str]
    folder: Path
    token: Path
    first_line: str
    system_temp: Path


def _start_local_runtime(env: dict[str, str]) -> LocalRuntime:
    process = subprocess.Popen([sys.executable, "-c", _LOCAL_RUNTIME], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = _read_until(process, "/")
    system_temp, temp_dir, token = (Path(part) for part in lines[-1].split())
    return LocalRuntime(process, temp_dir.parent, token, lines[0].strip(), system_temp)  # Ray's temp dir is inside


def _environment_without_ray() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}


def _started(pid: int) -> str | None:
    """When ``pid`` started (from /proc), or None once it has ended (a zombie counts as ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _process_tree(root: int) -> dict[int, str]:
    """``root`` and every process below it (the runtime's GCS, raylet, agents and workers), with start times."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return {pid: start for pid in tree if (start := _started(pid))}


@pytest.mark.slow
def test_a_local_ray_runtime_is_private_and_removed_at_exit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    runtime = _start_local_runtime({**_environment_without_ray(), "HOME": str(home)})
    folder, token = runtime.folder, runtime.token  # Ray's own temp dir is open to all (0777): it lies in here
    assert runtime.first_line == "task ran"  # workers authenticate with the private token
    assert folder.name.startswith("autoaug-ray-") and folder.stat().st_mode & 0o777 == 0o700
    assert token.parent == folder and token.stat().st_mode & 0o777 == 0o600
    assert runtime.system_temp == folder  # Ray Tune's lock files (_ray_lockfiles) go there, not to /tmp
    assert not (home / ".ray" / "auth_token").exists()  # Ray would write one there, readable by all
    runtime.process.communicate("", timeout=120)
    assert runtime.process.returncode == 0
    assert not folder.exists()


def _listeners(pids: list[int]) -> list[str]:
    """The local addresses that ``pids`` listen on for TCP, as ``ss -ltnp`` shows them."""
    table = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    owned = [line.split() for line in table.splitlines() if any(f"pid={pid}," in line for pid in pids)]
    return [fields[3] for fields in owned]


@pytest.mark.slow
def test_a_local_ray_runtime_listens_on_127_0_0_1_only() -> None:
    runtime = _start_local_runtime(_environment_without_ray())
    try:
        addresses = _listeners(list(_process_tree(runtime.process.pid)))
        assert len(addresses) >= 4  # the GCS, the raylet's two servers, the driver and each worker
        hosts = {address.rsplit(":", 1)[0] for address in addresses}
        assert hosts <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, addresses  # not *, 0.0.0.0 or the machine's address
    finally:
        runtime.process.communicate("", timeout=120)


@pytest.mark.slow
def test_a_killed_local_runtime_is_removed_by_the_next_one() -> None:
    killed = _start_local_runtime(_environment_without_ray())
    processes = _process_tree(killed.process.pid)
    killed.process.kill()  # `kill -9`: no atexit, no shutdown
    killed.process.communicate(timeout=60)
    assert killed.folder.exists()  # what it leaves: its folder and Ray's agents, which outlive their node
    next_one = _start_local_runtime(_environment_without_ray())
    try:
        assert not killed.folder.exists()
        assert not [pid for pid, start in processes.items() if _started(pid) == start]
        assert next_one.first_line == "task ran"
    finally:
        next_one.process.communicate("", timeout=120)


_WORKER_PRINTS = """
import logging, sys, ray
from autoaug.tuning._ray_connect import connect_ray
logging.basicConfig(level=logging.DEBUG if sys.argv[1] == "verbose" else logging.INFO)
connect_ray(None)
def shout() -> str:
    print("a worker's own line", file=sys.stderr, flush=True)
    return "task ran"
print(ray.get(ray.remote(shout).remote()), flush=True)
sys.stdin.read()  # until the test has looked
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["default", "verbose"])
def test_workers_output_reaches_the_terminal_only_when_verbose(mode: str) -> None:
    process = subprocess.Popen([sys.executable, "-c", _WORKER_PRINTS, mode], env=_environment_without_ray(),
                               text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None and process.stdin is not None
    assert process.stdout.readline().strip() == "task ran"
    if mode == "verbose":  # forwarded lines arrive a moment later: read until it comes (or 120 s end the process)
        deadline = threading.Timer(120, process.stdin.close)
        deadline.start()
        came = any("a worker's own line" in line for line in process.stderr)
        deadline.cancel()
        assert came, "the worker's line never came"
    _, rest = process.communicate("", timeout=120)  # drains stderr, so debug lines cannot fill the pipe
    assert process.returncode == 0
    if mode == "default":  # the runtime has stopped: whatever was forwarded has been printed
        assert "a worker's own line" not in rest
