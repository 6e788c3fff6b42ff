"""How the MLflow UI opens the searches' experiment: the model-training runs table with the trials' columns.

MLflow 3.17's UI does not read the experiment's ``mlflow.experimentKind`` tag to pick its view: it shows
what its sidebar switch ("GenAI" / "Model training") last chose in this browser (local storage key
``mlflow.workflowType_v1``, GenAI by default), overridden by the page address's ``workflowType`` query
parameter. Which columns the runs table shows is kept per browser too; the one state the server holds is a
*shared view*: an experiment tag ``mlflow.sharedViewState.<key>`` holding the table's state as JSON, applied
by an address with ``viewStateShareKey=<key>``. So each search tags its experiment with such a view and the
page address :func:`runs_page` names both.
"""

from __future__ import annotations

import json
import urllib.parse

from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

from autoaug.errors import ConfigError
from autoaug.records._store import existing_store_client
from autoaug.vocabulary import (
    AFFINITY,
    DIVERSITY,
    TAG_HEADLINE,
    TAG_OUTCOME,
    TAG_ROLE,
    TAG_SEARCH,
    TEST_ACCURACY,
    VAL_ACCURACY,
)

VIEW_KEY = "autoaug-trials"
"""The shared view's key (``mlflow.sharedViewState.autoaug-trials``)."""
_SHARED_VIEW_TAG = "mlflow.sharedViewState."
_EXPERIMENT_KIND = "mlflow.experimentKind"  # read by the UI only where its sidebar switch is off (not in 3.17)
_MODEL_TRAINING = "custom_model_development"  # the UI's ExperimentKind for classical ML and deep learning
TRIAL_COLUMNS = (
    f"metrics.`{VAL_ACCURACY}`",
    f"metrics.`{TEST_ACCURACY}`",
    f"metrics.`{AFFINITY}`",
    f"metrics.`{DIVERSITY}`",
    f"tags.`{TAG_OUTCOME}`",
    f"tags.`{TAG_HEADLINE}`",
    f"tags.`{TAG_SEARCH}`",
    "attributes.`Dataset`",
)
"""The runs table's columns in the shared view: target-validation and held-out test accuracy, affinity, diversity,
the outcome, the policy headline, the search and the datasets (in the UI's column-key form)."""
TRIALS_FILTER = f"tags.`{TAG_ROLE}` = 'trial'"
"""The shared view's filter: the trials of every search (not the searches' runs or their confirmation repeats)."""


def shared_view() -> dict[str, object]:
    """The runs table's state in the shared view: the trials with their columns, most accurate first."""
    return {
        "searchFilter": TRIALS_FILTER,
        "orderByKey": f"metrics.`{VAL_ACCURACY}`",
        "orderByAsc": False,
        "selectedColumns": list(TRIAL_COLUMNS),
        "columnOrder": list(TRIAL_COLUMNS),
        "columnWidths": {f"tags.`{TAG_HEADLINE}`": 280},
    }


def runs_page(experiment_id: str) -> str:
    """The UI address (after the server's root) of the experiment's runs in the model-training view, with the
    trial columns: ``#/experiments/<id>/runs?workflowType=machine_learning&viewStateShareKey=autoaug-trials``."""
    query = urllib.parse.urlencode({"workflowType": "machine_learning", "viewStateShareKey": VIEW_KEY})
    return f"#/experiments/{experiment_id}/runs?{query}"


def trials_page(tracking_uri: str, experiment: str) -> str | None:
    """:func:`runs_page` of ``experiment`` in the store at ``tracking_uri``; None while the store or the experiment
    does not exist (it creates neither)."""
    try:
        found = existing_store_client(tracking_uri).get_experiment_by_name(experiment)
    except ConfigError:
        return None
    return runs_page(found.experiment_id) if found else None


def _description(experiment_id: str) -> str:
    return (
        "Augmentation-policy searches by autoaug: each search is a parent run, each trial a run nested under it.\n\n"
        f"Open [the trials in the model-training view]({runs_page(experiment_id)}) to see them with their policy, "
        "outcome, accuracy, affinity and diversity; or choose *Model training* in the sidebar, then the columns."
    )


def tag_experiment(client: MlflowClient, experiment_id: str) -> None:
    """Store the shared view of the trials on the experiment; mark it as model training and describe it unless it
    already has a kind and a description (a user's own are kept)."""
    existing = client.get_experiment(experiment_id).tags
    client.set_experiment_tag(experiment_id, _SHARED_VIEW_TAG + VIEW_KEY, json.dumps(shared_view()))
    for key, value in ((_EXPERIMENT_KIND, _MODEL_TRAINING), (MLFLOW_RUN_NOTE, _description(experiment_id))):
        if key not in existing:
            client.set_experiment_tag(experiment_id, key, value)
