"""Fault injection: the interrupts and faults a user can cause, on a fresh store, then what they left checked.

    python benchmarks/fault_injection.py        # about 20 minutes on 2 busy cores

On a new sqlite MLflow store, through the real ``autoaug`` command:

- 4 first searches started at once (they race to create the store);
- SIGINT to the process group (Ctrl-C), SIGTERM and SIGKILL to a search, each followed by ``--resume``;
- the same three signals to ``autoaug evaluate``, each followed by another evaluate, which closes
  what a killed one left RUNNING;
- a worker node killed under a search on a 2-node local cluster (``cluster/local_cluster.py``).

Each signal lands at a known moment: the searches run through ``tests/held_search.py``, whose op
``hold`` keeps each searched trial waiting (and says so in a file) until the gate is opened, so a
search is signalled while a trial is known to run; an evaluation is signalled once it has printed
its first result. Nothing waits on a bare sleep.

Afterwards it checks: no MLflow run is RUNNING; no trial is counted twice; every trial is COMPLETE,
PRUNED or FAIL (with a reason) in Optuna and completed, pruned or failed (with a reason) in MLflow,
and both agree; every closed evaluation says why; no process of any runtime, cluster or command is
left, nor any runtime folder or temporary file. The summary goes to ``benchmarks/results/faults.json``::

    {"cases_run": N, "cases_passed": N, "cases": [{"name": ..., "passed": ..., "detail": ...}]}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType

from autoaug._process import processes_using
from autoaug.modalities.image import baseline_policies
from autoaug.policy import save_policy
from autoaug.records import OPTUNA_ARTIFACT, attempts, disagreements, find_search, trial_runs
from autoaug.tuning._ray_connect import is_stale, runtime_folders
from autoaug.vocabulary import TAG_OUTCOME, TAG_PROCESS, TAG_REASON, TAG_RETRIES, TAG_ROLE, TAG_TRIAL_ID

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "faults.json"
AUTOAUG = str(Path(sys.executable).with_name("autoaug"))
HELD_SEARCH = ROOT / "tests" / "held_search.py"
CLUSTER_SCRIPT = ROOT / "cluster" / "local_cluster.py"
RAY_LOCKS = "_ray_lockfiles"
"""Ray Tune's folder of lock files in the system temp dir, which Ray never empties."""
HELD_SPACE = "version: 1\nname: held\nstructure: rand\nops: [hold]\nnum_ops: [1, 1]\n"
TINY = ["--backbone", "test_resnet", "--weights", "none", "--image-size", "16", "--train-size", "60", "--epochs", "2"]
SEARCH = [*TINY, "--baselines", "none", "--confirm-seeds", "0", "--no-early-stopping"]
TIMEOUT = 900.0
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


class CaseFailed(Exception):
    """A check of a case did not hold; the message says which and what was seen."""


def check(condition: Any, detail: str) -> None:
    if not condition:
        raise CaseFailed(detail)


@dataclass
class Bench:
    """The fresh store and folders every case works in, and what the cases started."""

    work: Path
    runtimes_before: set[Path]
    runtimes_seen: set[Path] = field(default_factory=set)
    clusters: list[Path] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.work}/mlruns/mlflow.db"

    @property
    def env(self) -> dict[str, str]:
        """Each command's environment: offline, and its temporary files in a folder checked at the end."""
        return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.work / "tmp")}

    def client(self) -> MlflowClient:
        return MlflowClient(self.uri)

    def note_runtimes(self) -> None:
        """Remember the local runtime folders that exist now (each command's, while it runs)."""
        self.runtimes_seen |= runtime_folders() - self.runtimes_before

    def wait_for(self, condition: Callable[[], Any], what: str, process: subprocess.Popen[Any] | None = None) -> Any:
        """Poll ``condition`` until it holds; fail when ``process`` ends first or after :data:`TIMEOUT`."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self.note_runtimes()
            value = condition()
            if value:
                return value
            if process is not None and process.poll() is not None:
                raise CaseFailed(f"the command exited ({process.returncode}) while waiting for {what}")
            time.sleep(0.2)
        raise CaseFailed(f"timed out after {TIMEOUT:.0f} s waiting for {what}")


def _run(bench: Bench, command: list[str], name: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=bench.work, env=bench.env, capture_output=True, text=True, timeout=TIMEOUT)
    (bench.work / "logs" / f"{name}.log").write_text(result.stdout + result.stderr)
    return result


def _held_search(gate: Path) -> list[str]:
    """``autoaug search`` through ``tests/held_search.py``, its trials held at ``gate``."""
    return [sys.executable, str(HELD_SEARCH), str(gate), "search"]


def _start(bench: Bench, command: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``command`` in its own session (as from a terminal), its output in ``logs/<name>.log``."""
    with open(bench.work / "logs" / f"{name}.log", "ab") as log:
        return subprocess.Popen(command, cwd=bench.work, env=env or bench.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _start_held_search(bench: Bench, name: str, *flags: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """A search of 2 held trials (op ``hold``) after baseline ``none``, 2 at a time; and its gate."""
    gate = bench.work / "gates" / name
    gate.mkdir()
    space = bench.work / "held.yaml"
    space.write_text(HELD_SPACE)
    command = [*_held_search(gate), *SEARCH, "--space", str(space), "--trials", "2", "--concurrency", "2",
               "--name", name, "--tracking-uri", bench.uri, *flags]
    return _start(bench, command, name, env), gate


def _arrivals(gate: Path) -> dict[str, str]:
    """Trials held at ``gate``: trial id -> the node it runs on."""
    return {path.name.removeprefix("arrived-"): path.read_text() for path in gate.glob("arrived-*")}


def _send(process: subprocess.Popen[Any], name: str, state: Path | None = None) -> None:
    """Ctrl-C reaches the whole foreground process group; ``kill`` and ``kill -9`` reach the one process.

    A SIGKILL to a search is sent while it has no file open in ``state`` (Ray Tune's saved state), so
    that it does not land in the middle of a write there (Ray Tune copies its state there file by file,
    not atomically).
    """
    if name == "SIGINT":
        os.killpg(process.pid, signal.SIGINT)
        return
    if name == "SIGKILL" and state is not None:
        process.send_signal(signal.SIGSTOP)
        while process.pid in set(processes_using(state)):
            process.send_signal(signal.SIGCONT)
            time.sleep(0.05)
            process.send_signal(signal.SIGSTOP)
    process.send_signal(SIGNALS[name])


def case_concurrent_first_searches(bench: Bench) -> str:
    names = [f"first-{index}" for index in range(4)]
    command = [AUTOAUG, "search", *SEARCH, "--trials", "1", "--tracking-uri", bench.uri]
    processes = [_start(bench, [*command, "--name", name], name) for name in names]
    bench.wait_for(lambda: all(process.poll() is not None for process in processes), "the 4 searches to end")
    codes = [process.returncode for process in processes]
    check(codes == [0] * 4, f"exit codes {codes} (see logs/first-*.log)")
    client = bench.client()
    statuses = [find_search(client, "autoaug", name).info.status for name in names]
    check(statuses == ["FINISHED"] * 4, f"parent runs {statuses}")
    return "4 searches started at once on an empty folder all finished (exit 0), each recorded once"


def case_search_signal(bench: Bench, signal_name: str) -> str:
    name = f"search-{signal_name.lower()}"
    process, gate = _start_held_search(bench, name)
    held = bench.wait_for(lambda: _arrivals(gate), "a searched trial to be held", process)
    _send(process, signal_name, bench.work / "mlruns" / "tune")
    code = process.wait(timeout=TIMEOUT)
    client = bench.client()
    runs = trial_runs(client, find_search(client, "autoaug", name))
    running = [run.info.run_name for run in runs if run.info.status == "RUNNING"]
    if signal_name == "SIGKILL":
        check(code == -signal.SIGKILL, f"exit code {code}")
        check(running, "a SIGKILLed search closed its runs?")
        left = f"left {len(running)} run(s) RUNNING"
    else:
        check(code == 130, f"exit code {code}, expected 130")
        check(not running, f"runs left RUNNING: {running}")
        failed = [run for run in runs if run.data.tags.get(TAG_OUTCOME) == "failed"]
        check(failed and all(f"--resume {name}" in run.data.tags[TAG_REASON] for run in failed),
              "the interrupted runs do not name the resume command")
        left = f"exit 130, {len(failed)} run(s) closed as interrupted"
    (gate / "open").touch()
    resumed = _run(bench, [*_held_search(gate), "--resume", name, "--tracking-uri", bench.uri], f"{name}-resume")
    check(resumed.returncode == 0, f"the resume exited {resumed.returncode}: {resumed.stderr[-600:]}")
    parent = find_search(client, "autoaug", name)
    check(parent.info.status == "FINISHED", f"after the resume the search is {parent.info.status}")
    return (f"{signal_name} while trial {next(iter(held))} was running: {left}; --resume finished the search "
            f"({len(trial_runs(client, parent))} trials)")


def _evaluation_runs(bench: Bench) -> dict[str, Run]:
    client = bench.client()
    experiment = client.get_experiment_by_name("autoaug")
    query = f"tags.`{TAG_ROLE}` = 'evaluation'"
    return {run.info.run_id: run for run in client.search_runs([experiment.experiment_id], query)}


def _evaluate(bench: Bench, name: str, seeds: int) -> list[str]:
    policy = bench.work / "trivial.json"
    if not policy.exists():
        save_policy(baseline_policies()["trivial_augment_wide"], policy)
    return [AUTOAUG, "evaluate", str(policy), "--baselines", "none", *TINY, "--epochs", "1", "--tracking-uri",
            bench.uri, "--seeds", *map(str, range(seeds)), "--output-json", str(bench.work / f"{name}.json"),
            "--plot", str(bench.work / f"{name}.png")]


def case_evaluate_signal(bench: Bench, signal_name: str) -> str:
    name = f"evaluate-{signal_name.lower()}"
    before = set(_evaluation_runs(bench))
    process = subprocess.Popen(_evaluate(bench, name, 30), cwd=bench.work, env=bench.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    for line in process.stdout:  # its run exists and holds the first fine-tune
        if line.startswith("[  1/60]"):
            break
    check(process.poll() is None, f"the evaluation ended (exit {process.poll()}) before its first result")
    _send(process, signal_name)
    out, err = process.communicate(timeout=TIMEOUT)
    (bench.work / "logs" / f"{name}.log").write_text(out + err)
    (run_id,) = set(_evaluation_runs(bench)) - before
    status = bench.client().get_run(run_id).info.status
    expected = (-signal.SIGKILL, "RUNNING") if signal_name == "SIGKILL" else (130, "KILLED")
    check((process.returncode, status) == expected, f"exit code {process.returncode}, run {status}")
    after = _run(bench, _evaluate(bench, f"{name}-next", 2), f"{name}-next")
    check(after.returncode == 0, f"the next evaluate exited {after.returncode}: {after.stderr[-600:]}")
    closed = bench.client().get_run(run_id)
    reason = closed.data.tags.get(TAG_REASON, "")
    check(closed.info.status == "KILLED" and reason, f"after the next evaluate the run is {closed.info.status}")
    return f"{signal_name} after the first fine-tune: exit {process.returncode}, run {status}; then KILLED: {reason}"


@contextmanager
def local_cluster(bench: Bench) -> Iterator[tuple[Path, dict[str, str], dict[str, Any]]]:
    """A head with no CPUs and 2 one-CPU workers; the environment a driver needs; the cluster's state."""
    folder = Path(tempfile.mkdtemp(prefix="aa-fi-", dir="/tmp"))  # short: Ray's socket paths must fit
    bench.clusters.append(folder)
    env = {**bench.env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(folder / "auth_token"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = [sys.executable, str(CLUSTER_SCRIPT)]
    try:
        subprocess.run([*script, "up", "--dir", str(folder), "--workers", "2", "--head-cpus", "0"], env=env,
                       check=True, capture_output=True, timeout=TIMEOUT)
        yield folder, env, json.loads((folder / "cluster.json").read_text())
    finally:
        subprocess.run([*script, "down", "--dir", str(folder)], env=env, capture_output=True, timeout=TIMEOUT)
        shutil.rmtree(folder, ignore_errors=True)


def case_worker_node_killed(bench: Bench) -> str:
    name = "lose-node"
    with local_cluster(bench) as (folder, env, state):
        workers = {node["name"]: node["node_id"] for node in state["nodes"] if not node["head"]}
        process, gate = _start_held_search(bench, name, "--address", state["address"], env=env)
        # The first held trial keeps one worker's only CPU, so the second runs on the other one.
        bench.wait_for(lambda: len(set(_arrivals(gate).values())) == 2, "a held trial on each worker", process)
        (victim,) = [trial for trial, node in _arrivals(gate).items() if node == workers["worker-2"]]
        subprocess.run([sys.executable, str(CLUSTER_SCRIPT), "kill-worker", "--dir", str(folder), "2"], env=env,
                       check=True, capture_output=True, timeout=TIMEOUT)
        (gate / "open").touch()
        code = process.wait(timeout=TIMEOUT)
        check(code == 0, f"the search exited {code}")
    client = bench.client()
    (run,) = [r for r in trial_runs(client, find_search(client, "autoaug", name)) if r.data.tags[TAG_TRIAL_ID] == victim]
    lost = attempts(client, run)
    check(run.data.tags[TAG_OUTCOME] == "completed" and int(run.data.tags[TAG_RETRIES]) >= 1 and lost,
          f"the trial on the lost node: {run.data.tags.get(TAG_OUTCOME)}, {len(lost)} earlier attempts")
    return (f"worker-2 killed while trial {victim} was held on it: retried on the other node and completed; "
            f"the lost attempt is kept as a FAILED run beneath it ({lost[0].data.tags[TAG_REASON][:120]})")


def _searches(client: MlflowClient) -> list[Run]:
    experiment = client.get_experiment_by_name("autoaug")
    return client.search_runs([experiment.experiment_id], f"tags.`{TAG_ROLE}` = 'search'")


def case_no_run_running(bench: Bench) -> str:
    client = bench.client()
    experiment = client.get_experiment_by_name("autoaug")
    runs = client.search_runs([experiment.experiment_id], "", run_view_type=ViewType.ALL, max_results=10000)
    running = [f"{run.info.run_name} ({run.data.tags.get(TAG_ROLE)})" for run in runs if run.info.status == "RUNNING"]
    check(not running, f"RUNNING: {running}")
    return f"none of the {len(runs)} runs (deleted ones included) is RUNNING"


def case_no_trial_counted_twice(bench: Bench) -> str:
    client = bench.client()
    counted = 0
    for parent in _searches(client):
        ids = [run.data.tags[TAG_TRIAL_ID] for run in trial_runs(client, parent)]
        check(len(ids) == len(set(ids)), f"{parent.info.run_name}: trial ids {sorted(ids)}")
        counted += len(ids)
    return f"{counted} trials in {len(_searches(client))} searches, each once"


def case_every_trial_ended_with_a_reason(bench: Bench) -> str:
    client = bench.client()
    states: dict[str, int] = {}
    earlier = 0
    for parent in _searches(client):
        runs = trial_runs(client, parent)
        with tempfile.TemporaryDirectory() as folder:
            view = json.loads(Path(client.download_artifacts(parent.info.run_id, OPTUNA_ARTIFACT, folder)).read_text())
        problems = disagreements(view, runs)
        check(not problems, f"{parent.info.run_name}: {problems}")
        for entry in view:
            check(entry["state"] in ("COMPLETE", "PRUNED", "FAIL") and (entry["state"] != "FAIL" or entry["fail_reason"]),
                  f"{parent.info.run_name}: Optuna trial {entry['number']} {entry['state']}")
            states[entry["state"]] = states.get(entry["state"], 0) + 1
        for run in runs:
            for attempt in attempts(client, run):
                check(attempt.info.status == "FAILED" and attempt.data.tags.get(TAG_REASON),
                      f"{attempt.info.run_name}: {attempt.info.status} without a reason")
                earlier += 1
    for run in _evaluation_runs(bench).values():
        check(run.info.status == "FINISHED" or run.data.tags.get(TAG_REASON), f"evaluation {run.info.run_name}")
        check(TAG_PROCESS in run.data.tags, f"evaluation {run.info.run_name} names no process")
    return (f"Optuna and MLflow agree for every search; Optuna trials {states}; {earlier} earlier attempts kept as "
            "FAILED runs with a reason; every evaluation closed, with a reason unless FINISHED")


def case_nothing_left_behind(bench: Bench) -> str:
    bench.note_runtimes()
    # Folders of runtimes seen while a command ran, and any new one whose owner has ended (others may be in use).
    stale = {folder for folder in runtime_folders() - bench.runtimes_before if is_stale(folder)}
    folders = sorted(str(folder) for folder in stale | {folder for folder in bench.runtimes_seen if folder.exists()})
    check(not folders, f"runtime folders left: {folders}")
    places = [*bench.runtimes_seen, *bench.clusters, bench.work]
    processes = {pid for place in places for pid in processes_using(place)}
    check(not processes, f"processes left holding files there: {sorted(processes)}")
    temporary = sorted(path.name for path in (bench.work / "tmp").iterdir() if path.name != RAY_LOCKS)
    check(not temporary, f"temporary files left: {temporary}")
    locks = len(list((bench.work / "tmp" / RAY_LOCKS).glob("*")))
    kept = f"; Ray's own {RAY_LOCKS} holds {locks} empty lock files (Ray keeps them by design)" if locks else ""
    return (f"the {len(bench.runtimes_seen)} local runtime folders seen while commands ran, any other new one and "
            f"the cluster's folder are gone; no process holds a file in them or in the store's folder; no temporary "
            f"file is left{kept}")


CASES: list[tuple[str, Callable[[Bench], str]]] = [
    ("4 concurrent first searches", case_concurrent_first_searches),
    *[(f"{name} to a search, then --resume", lambda bench, n=name: case_search_signal(bench, n)) for name in SIGNALS],
    *[(f"{name} to an evaluate, then the next evaluate", lambda bench, n=name: case_evaluate_signal(bench, n))
      for name in SIGNALS],
    ("worker node killed under a search", case_worker_node_killed),
    ("no run left RUNNING", case_no_run_running),
    ("no trial counted twice", case_no_trial_counted_twice),
    ("every trial ended with its outcome and reason in Optuna and MLflow", case_every_trial_ended_with_a_reason),
    ("no process, runtime folder or temporary file left", case_nothing_left_behind),
]


def run_case(bench: Bench, name: str, case: Callable[[Bench], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail, passed = case(bench), True
    except Exception as exc:  # noqa: BLE001 - a case that breaks fails, and the others still run
        detail, passed = f"{type(exc).__name__}: {exc}", False
    seconds = time.monotonic() - started
    print(f"{'PASS' if passed else 'FAIL'} {name} ({seconds:.0f} s): {detail}", flush=True)
    return {"name": name, "passed": passed, "detail": f"{detail} ({seconds:.0f} s)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=RESULTS, help="default: %(default)s")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (store, logs) for a look")
    args = parser.parse_args(argv)
    # As from a terminal: a job started in the background ignores SIGINT, and so would the commands it starts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    work = Path(tempfile.mkdtemp(prefix="aa-faults-"))
    for folder in ("tmp", "logs", "gates"):
        (work / folder).mkdir()
    bench = Bench(work, runtime_folders())
    try:
        cases = [run_case(bench, name, case) for name, case in CASES]
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    summary = {"cases_run": len(cases), "cases_passed": sum(case["passed"] for case in cases), "cases": cases}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{summary['cases_passed']} of {summary['cases_run']} cases passed; written to {args.output}")
    return 0 if summary["cases_passed"] == summary["cases_run"] else 1


if __name__ == "__main__":
    sys.exit(main())
