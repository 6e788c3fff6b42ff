"""Where Optuna's view of a search disagrees with its MLflow runs (it should not, even after a resume)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlflow.entities import Run

from autoaug.vocabulary import TAG_BASELINE, TAG_OUTCOME, TAG_REASON, TAG_TRIAL_ID

OPTUNA_ARTIFACT = "optuna_trials.json"
_OUTCOME = {"COMPLETE": "completed", "PRUNED": "pruned", "FAIL": "failed"}


def disagreements(view: list[dict[str, Any]], runs: list[Run]) -> list[str]:
    """Every way the Optuna view and the MLflow trial runs disagree (empty when they agree).

    Checked: every searched trial is COMPLETE, PRUNED or FAIL (with a reason) in Optuna and
    completed, pruned or failed (with a reason) in a closed MLflow run; each trial appears once on
    each side; both sides give it the same outcome. A baseline's warm-start trial in Optuna must
    match a completed baseline run in MLflow; a proposal that repeated a policy has no run.
    """
    problems = []
    counts = Counter(run.data.tags.get(TAG_TRIAL_ID) for run in runs)
    problems += [f"trial {tid}: {n} MLflow runs" for tid, n in counts.items() if n > 1]
    for run in runs:
        tags, name = run.data.tags, run.info.run_name
        if run.info.status == "RUNNING" or TAG_OUTCOME not in tags:
            problems.append(f"{name}: MLflow run left {run.info.status} without an outcome")
        elif tags[TAG_OUTCOME] == "failed" and not tags.get(TAG_REASON):
            problems.append(f"{name}: failed in MLflow without a reason")
    searched = {run.data.tags.get(TAG_TRIAL_ID): run for run in runs if TAG_BASELINE not in run.data.tags}
    completed_baselines = {
        run.data.tags[TAG_BASELINE] for run in runs
        if TAG_BASELINE in run.data.tags and run.data.tags.get(TAG_OUTCOME) == "completed"
    }
    warm = Counter(entry.get("baseline") for entry in view if entry.get("baseline"))
    problems += [f"baseline {name}: {n} warm-start trials in Optuna" for name, n in warm.items() if n > 1]
    problems += [f"baseline {name}: in Optuna but no completed MLflow run" for name in warm
                 if name not in completed_baselines]
    view = [entry for entry in view if not entry.get("baseline") and not entry.get("duplicate_of")]
    seen = Counter(entry["tune_trial_id"] for entry in view)
    problems += [f"trial {tid}: {n} Optuna trials" for tid, n in seen.items() if n > 1]
    for entry in view:
        label = f"Optuna trial {entry['number']} (Tune {entry['tune_trial_id']})"
        outcome = _OUTCOME.get(entry["state"])
        run = searched.pop(entry["tune_trial_id"], None)
        if outcome is None:
            problems.append(f"{label}: left {entry['state']}")
        elif outcome == "failed" and not entry["fail_reason"]:
            problems.append(f"{label}: FAIL without a reason")
        if run is None:
            problems.append(f"{label}: no MLflow run")
        elif outcome and run.data.tags.get(TAG_OUTCOME) != outcome:
            problems.append(f"{label}: {entry['state']} in Optuna but {run.data.tags.get(TAG_OUTCOME)} in MLflow")
    problems += [f"{run.info.run_name}: in MLflow but not in the Optuna study" for run in searched.values()]
    return problems
