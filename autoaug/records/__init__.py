"""MLflow records, the only layer that touches MLflow: searches and evaluations written and read back.

A search is a parent run with a child run per trial (and a run per confirmation repeat nested under
its trial), written by one :class:`SearchTracker` in the driver; an evaluation is one run written by
an :class:`EvaluationTracker`.
"""

from __future__ import annotations

from autoaug.records._agreement import OPTUNA_ARTIFACT, disagreements
from autoaug.records._evaluation import (
    EVALUATION_JSON,
    EVALUATION_PLOT,
    EVALUATION_TABLE,
    EvaluationTracker,
    PolicySource,
    find_policy_source,
    metric_key,
)
from autoaug.records._plots import PLOTS_DIR, log_search_plots, save_search_plots
from autoaug.records._policy_uri import POLICY_ARTIFACT, POLICY_URI_FORMS, read_policy_uri, read_run_policy
from autoaug.records._read import (
    CONFIG_ARTIFACT,
    SAMPLES_ARTIFACT,
    attempts,
    find_search,
    load_trial_rows,
    read_recorded_config,
    read_trial_policy,
    samples_grid,
    trial_row,
    trial_runs,
)
from autoaug.records._resume import ResumedTrial, SavedTrial, resume_search
from autoaug.records._search import (
    BEST_POLICY_ARTIFACT,
    CONFIRMATION_ARTIFACT,
    DATA_REPORT,
    TRIALS_ARTIFACT,
    TRIALS_TABLE,
    SearchTracker,
)
from autoaug.records._store import (
    check_store,
    database_file,
    existing_store_client,
    filter_value,
    local_store_dir,
    open_experiment,
    prepare_store,
    store_client,
    store_lock,
)
from autoaug.records._ui import serve_ui
from autoaug.records._view import TRIAL_COLUMNS, VIEW_KEY, runs_page, trials_page

__all__ = [
    "BEST_POLICY_ARTIFACT",
    "CONFIG_ARTIFACT",
    "CONFIRMATION_ARTIFACT",
    "DATA_REPORT",
    "EVALUATION_JSON",
    "EVALUATION_PLOT",
    "EVALUATION_TABLE",
    "OPTUNA_ARTIFACT",
    "PLOTS_DIR",
    "POLICY_ARTIFACT",
    "POLICY_URI_FORMS",
    "SAMPLES_ARTIFACT",
    "TRIALS_ARTIFACT",
    "TRIALS_TABLE",
    "TRIAL_COLUMNS",
    "VIEW_KEY",
    "EvaluationTracker",
    "PolicySource",
    "ResumedTrial",
    "SavedTrial",
    "SearchTracker",
    "attempts",
    "check_store",
    "database_file",
    "disagreements",
    "existing_store_client",
    "filter_value",
    "find_policy_source",
    "find_search",
    "load_trial_rows",
    "log_search_plots",
    "local_store_dir",
    "metric_key",
    "open_experiment",
    "prepare_store",
    "read_policy_uri",
    "read_recorded_config",
    "read_run_policy",
    "read_trial_policy",
    "resume_search",
    "runs_page",
    "samples_grid",
    "save_search_plots",
    "serve_ui",
    "store_client",
    "store_lock",
    "trial_row",
    "trial_runs",
    "trials_page",
]
