"""The MLflow UI, opened in a real headless Chromium, shows a real search: its parent run, trial runs and pictures,
the trials in the model-training runs table with their columns, the runs' descriptions and datasets, and the
trials table artifact.

The search runs through the CLI (tiny ``test_resnet``, real Ray, Optuna and MLflow); the UI is started with
``autoaug ui``; Chromium is Debian's package driven by Selenium through Debian's chromedriver. A screenshot of
every page checked is left in the test's temp dir; those of the runs table and of a trial page are checked to
show a rendered page (many colours, a share of non-white pixels).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import ray
from mlflow import MlflowClient
from mlflow.entities import Run
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from autoaug.cli import main
from autoaug.records import TRIALS_TABLE, find_search, runs_page, trial_runs
from autoaug.vocabulary import AFFINITY, DIVERSITY, TAG_HEADLINE, TAG_OUTCOME, TEST_ACCURACY, VAL_ACCURACY
from local_processes import free_port

pytestmark = pytest.mark.slow

# Artifacts the parent run must show in the UI. Extend with the search plots when they are logged, e.g.
# "plots/affinity_diversity.png", "plots/accuracy_over_trials.png", "plots/best_policy_samples.png".
PARENT_ARTIFACTS = [
    "trials.csv",
    "best_policy.json",
    "plots/affinity_diversity.png",
    "plots/accuracy_over_trials.png",
    "plots/best_policy_samples.png",
]
TRIAL_ARTIFACTS = ["augmented_samples.png"]

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1920,1080",
)
_PACKAGES = {"chromium": "chromium", "chromedriver": "chromium-driver"}
_WAIT_S = 90  # the UI is a large React app: first render takes a while on a busy 2-core machine
TRAINING = "workflowType=machine_learning"  # the model-training view, whatever the sidebar chose before
COLUMNS = (VAL_ACCURACY, TEST_ACCURACY, AFFINITY, DIVERSITY, TAG_OUTCOME, TAG_HEADLINE)


def _install_chromium() -> tuple[str, str]:
    """Debian's chromium and chromedriver, installed with apt-get when missing; fails loudly if that is impossible."""
    missing = [package for program, package in _PACKAGES.items() if shutil.which(program) is None]
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(f"the browser test needs Debian's {' and '.join(missing)}: apt-get install -y {' '.join(missing)}")
        # A fresh machine may have no package lists yet: refresh them first.
        for command in (["update"], ["install", "-y", *missing]):
            done = subprocess.run(
                ["apt-get", "-o", "DPkg::Lock::Timeout=300", *command],
                capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if done.returncode != 0:
                pytest.fail(f"apt-get {' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return str(shutil.which("chromium")), str(shutil.which("chromedriver"))


@dataclass(frozen=True)
class Store:
    uri: str
    experiment_id: str
    parent: Run
    trials: list[Run]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("ui-search")
    space = root / "space.yaml"
    space.write_text("version: 1\nname: small\nstructure: sequence\nops: [rotate, downscale]\n")
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             _temp_dir=tempfile.mkdtemp(prefix="aa-ray-", dir="/tmp"))
    try:
        code = main(["search", "--backbone", "test_resnet", "--weights", "none", "--train-size", "100",
                     "--image-size", "16", "--epochs", "1", "--trials", "1", "--baselines", "none",
                     "--concurrency", "2", "--space", str(space), "--tracking-uri", uri, "--name", "ui-check"])
    finally:
        ray.shutdown()
    assert code == 0
    client = MlflowClient(uri)
    parent = find_search(client, "autoaug", "ui-check")
    return Store(uri, parent.info.experiment_id, parent, trial_runs(client, parent))


@contextlib.contextmanager
def _serving(command: str, uri: str, probe: str, log_path: Path) -> Iterator[str]:
    """``autoaug COMMAND`` on a free port of 127.0.0.1 for ``uri``'s records, once ``probe`` answers; stopped after."""
    port = free_port()
    log = log_path.open("w")
    # A session of its own, so that stopping it stops the server it starts, and nothing else.
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "autoaug"), command, "--port", str(port), "--tracking-uri", uri],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + _WAIT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}{probe}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"autoaug {command} did not answer on {url} within {_WAIT_S}s; see {log.name}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def ui_url(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serving("ui", store.uri, "/health", tmp_path_factory.mktemp("ui") / "ui.log") as url:
        yield url


@pytest.fixture(scope="module")
def dashboard_url(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serving("dashboard", store.uri, "/api/studies", tmp_path_factory.mktemp("dashboard") / "dashboard.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium, chromedriver = _install_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(_WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: WebDriver, url: str) -> None:
    browser.get("about:blank")  # a new hash route in the same app may not re-render: load it afresh
    browser.get(url)


def _wait(browser: WebDriver, condition: Callable[[WebDriver], Any], what: str, shots: Path) -> Any:
    try:
        return WebDriverWait(browser, _WAIT_S, poll_frequency=0.5).until(condition)
    except TimeoutException:
        shot = shots / f"timeout-{re.sub(r'[^A-Za-z0-9]+', '_', what)}.png"
        browser.save_screenshot(str(shot))
        pytest.fail(f"the MLflow UI did not show {what} within {_WAIT_S}s (screenshot: {shot})")


def _loaded_image(browser: WebDriver) -> Any:
    """The artifact preview's image once it has loaded (its pixels decoded), else False."""
    return browser.execute_script(
        "const img = [...document.images].find(i => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0);"
        "return img ? [img.naturalWidth, img.naturalHeight] : false;"
    )


def _body_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def _texts(browser: WebDriver, selector: str) -> list[str]:
    return [str(element.text) for element in browser.find_elements(By.CSS_SELECTOR, selector)]


def _check_rendered(shot: Path) -> None:
    """A screenshot of a rendered page, not a blank or half-drawn one: many colours and a share of non-white pixels
    (text, icons, the table's lines), measured on the picture itself."""
    picture = Image.open(shot).convert("RGB")
    colours = picture.getcolors(maxcolors=1 << 20) or []
    inked = sum(count for count, rgb in colours if min(rgb) < 200) / (picture.width * picture.height)
    assert len(colours) >= 200, f"{shot}: {len(colours)} colours"
    assert 0.01 <= inked <= 0.6, f"{shot}: {inked:.1%} of the pixels are not white"


def _note_lines(run: Run) -> list[str]:
    """The run's description as the UI renders its Markdown: one line of text per paragraph, no ``**`` or backticks."""
    return [line.replace("**", "").replace("`", "") for line in run.data.tags["mlflow.note.content"].split("\n") if line]


def _check_description(browser: WebDriver, lines: list[str], shots: Path) -> None:
    """Every line of the run's description on its page, unfolded with "Show more" when the UI folds it."""
    _wait(browser, lambda b: lines[0] in _body_text(b), f"the description line {lines[0][:40]!r}", shots)
    for more in browser.find_elements(By.XPATH, "//*[text()='Show more']"):
        more.click()
    for line in lines:
        _wait(browser, lambda b, line=line: line in _body_text(b), f"the description line {line[:40]!r}", shots)


def _check_artifact_shown(browser: WebDriver, ui_url: str, store: Store, run: Run, path: str, shots: Path) -> None:
    """Open the run's artifact view on ``path`` and check that the UI shows that very file."""
    _open(browser, f"{ui_url}/#/experiments/{store.experiment_id}/runs/{run.info.run_id}/artifacts/{path}?{TRAINING}")
    location = f"{run.info.artifact_uri}/{path}"
    _wait(browser, lambda b: location in _body_text(b), f"the path of {path}", shots)
    local = Path(MlflowClient(store.uri).download_artifacts(run.info.run_id, path, str(shots)))
    if path.endswith(".png"):
        size = _wait(browser, _loaded_image, f"the image {path}", shots)
        assert tuple(size) == Image.open(local).size  # the real picture, decoded at its own size
    else:
        word = re.search(r"[A-Za-z_][\w-]{2,}", local.read_text(encoding="utf-8"))
        assert word is not None
        _wait(browser, lambda b: word.group() in _body_text(b), f"the content of {path}", shots)
    browser.save_screenshot(str(shots / f"{run.info.run_name}-{path.replace('/', '_')}.png"))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def test_the_runs_list_shows_the_search_and_unfolds_its_trials(
    browser: WebDriver, ui_url: str, store: Store, shots: Path
) -> None:
    _open(browser, f"{ui_url}/#/experiments/{store.experiment_id}/runs")
    parent_link = f"#/experiments/{store.experiment_id}/runs/{store.parent.info.run_id}"
    _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f"a[href='{parent_link}']"), "the search's run", shots)
    assert "ui-check" in _body_text(browser)
    # Trial runs are nested under the search: unfold them with the button beside the search's name.
    browser.find_element(
        By.XPATH, f"//a[@href='{parent_link}']/ancestor::div[@role='gridcell']//button"
    ).click()
    for trial in store.trials:
        link = f"a[href='#/experiments/{store.experiment_id}/runs/{trial.info.run_id}']"
        _wait(browser, lambda b, link=link: b.find_elements(By.CSS_SELECTOR, link), trial.info.run_name, shots)
    text = _body_text(browser)
    assert {trial.info.run_name for trial in store.trials} == {"baseline-none", "trial-000"}
    assert all(trial.info.run_name in text for trial in store.trials)
    browser.save_screenshot(str(shots / "runs.png"))


@pytest.mark.parametrize("path", PARENT_ARTIFACTS)
def test_the_search_run_shows_its_artifacts(
    browser: WebDriver, ui_url: str, store: Store, shots: Path, path: str
) -> None:
    _check_artifact_shown(browser, ui_url, store, store.parent, path, shots)


@pytest.mark.parametrize("path", TRIAL_ARTIFACTS)
def test_every_trial_run_shows_its_pictures(
    browser: WebDriver, ui_url: str, store: Store, shots: Path, path: str
) -> None:
    for trial in store.trials:
        _check_artifact_shown(browser, ui_url, store, trial, path, shots)


def test_the_trials_open_in_the_model_training_runs_table_with_their_columns(
    browser: WebDriver, ui_url: str, store: Store, shots: Path
) -> None:
    _open(browser, f"{ui_url}/{runs_page(store.experiment_id)}")
    link = f"a[href='#/experiments/{store.experiment_id}/runs/{{}}']"
    for trial in store.trials:
        _wait(browser, lambda b, trial=trial: b.find_elements(By.CSS_SELECTOR, link.format(trial.info.run_id)),
              f"{trial.info.run_name} in the trials table", shots)
    # The model-training view: its sidebar's Runs, Models and Model registry; the GenAI view has none of them.
    sidebar = _body_text(browser)
    assert all(item in sidebar for item in ("Runs", "Models", "Model registry")) and "Evaluation runs" not in sidebar
    headers = _texts(browser, "[role='columnheader']")
    assert set(COLUMNS) <= set(headers), headers  # chosen by the shared view, not by hand
    assert not browser.find_elements(By.CSS_SELECTOR, link.format(store.parent.info.run_id))  # trials only
    for trial in store.trials:  # each trial's row (its pinned name part and its columns share a row-index)
        row = browser.find_element(
            By.XPATH, f"//a[@href='#/experiments/{store.experiment_id}/runs/{trial.info.run_id}']/ancestor::div[@role='row']"
        ).get_attribute("row-index")
        text = " ".join(_texts(browser, f"[role='row'][row-index='{row}']"))
        assert trial.data.tags[TAG_HEADLINE] in text and trial.data.tags[TAG_OUTCOME] in text, text
        for metric in (VAL_ACCURACY, TEST_ACCURACY, AFFINITY, DIVERSITY):  # the values, as MLflow prints them
            assert f"{trial.data.metrics[metric]:g}"[:6] in text, (metric, text)
    shot = shots / "trials_table.png"
    browser.save_screenshot(str(shot))
    _check_rendered(shot)


def test_the_search_run_shows_its_description(browser: WebDriver, ui_url: str, store: Store, shots: Path) -> None:
    _open(browser, f"{ui_url}/#/experiments/{store.experiment_id}/runs/{store.parent.info.run_id}?{TRAINING}")
    lines = _note_lines(store.parent)
    assert lines[0] == "Search ui-check: finished." and lines[1].startswith("Result: ")
    assert [line.split(":")[0] for line in lines[2:]] == ["Verdict against the baselines", "Budget"]
    _check_description(browser, lines, shots)
    browser.save_screenshot(str(shots / "search_description.png"))


def test_a_trial_page_shows_its_description_and_datasets(
    browser: WebDriver, ui_url: str, store: Store, shots: Path
) -> None:
    trial = next(run for run in store.trials if run.info.run_name == "trial-000")
    _open(browser, f"{ui_url}/#/experiments/{store.experiment_id}/runs/{trial.info.run_id}?{TRAINING}")
    lines = _note_lines(trial)
    assert lines[0].startswith("trial-000 of search ui-check: ") and lines[1].startswith("Outcome: completed: ")
    _check_description(browser, lines, shots)
    datasets = {item.dataset.name: item.dataset.digest for item in MlflowClient(store.uri).get_run(
        trial.info.run_id).inputs.dataset_inputs}
    first = f"digits-training ({datasets['digits-training']})"
    _wait(browser, lambda b: first in _body_text(b), "the training dataset", shots)
    assert "Training" in _body_text(browser)
    shot = shots / "trial_page.png"
    browser.save_screenshot(str(shot))
    _check_rendered(shot)
    # The second dataset is folded behind "+1": unfolding it shows the target split.
    browser.find_element(By.XPATH, "//*[text()='+1']").click()
    second = f"digits-target ({datasets['digits-target']})"
    _wait(browser, lambda b: second in _body_text(b) and "Target" in _body_text(b), "the target dataset", shots)


def test_the_trials_table_artifact_is_shown_as_a_table(
    browser: WebDriver, ui_url: str, store: Store, shots: Path
) -> None:
    run_id = store.parent.info.run_id
    _open(browser, f"{ui_url}/#/experiments/{store.experiment_id}/runs/{run_id}/artifacts/{TRIALS_TABLE}?{TRAINING}")
    _wait(browser, lambda b: "trial" in _texts(b, "[role='columnheader']"), "the table's header", shots)
    assert _texts(browser, "[role='columnheader']")[:4] == ["rank", "trial", "outcome", VAL_ACCURACY]
    assert "View as table" in _body_text(browser)
    shown = _body_text(browser)
    assert all(trial.info.run_name in shown for trial in store.trials)
    browser.save_screenshot(str(shots / "trials_table_artifact.png"))


def test_the_dashboard_shows_the_search_s_stored_study(
    browser: WebDriver, dashboard_url: str, store: Store, shots: Path
) -> None:
    name = store.parent.info.run_name
    _open(browser, f"{dashboard_url}/dashboard")
    _wait(browser, lambda b: name in _body_text(b), f"the study {name} in optuna-dashboard's list", shots)
    with urllib.request.urlopen(f"{dashboard_url}/api/studies", timeout=10) as answer:
        studies = {study["study_name"]: study["study_id"] for study in json.load(answer)["study_summaries"]}
    _open(browser, f"{dashboard_url}/dashboard/studies/{studies[name]}")
    _wait(browser, lambda b: "History" in _body_text(b) and "Best Trial" in _body_text(b),
          "the study's history and best trial", shots)
    assert f"{name} (id={studies[name]})" in _body_text(browser)
    assert VAL_ACCURACY in _body_text(browser)  # the objective carries the search's metric name
    browser.save_screenshot(str(shots / "dashboard_study.png"))
    _check_rendered(shots / "dashboard_study.png")
