"""Run descriptions (``mlflow.note.content``, Markdown in the MLflow UI): a trial's policy and outcome, a search's
result, budget and verdict against the baselines."""

from __future__ import annotations

from collections.abc import Mapping

from autoaug.results import TrialRow, best_row
from autoaug.vocabulary import AFFINITY, DIVERSITY, TEST_ACCURACY, VAL_ACCURACY

_SHOWN = ((VAL_ACCURACY, "target-validation accuracy"), (TEST_ACCURACY, "held-out test accuracy"),
          (AFFINITY, "affinity"), (DIVERSITY, "diversity"))  # fmt: skip
_MAX_NOTE = 5000


def _figures(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{label} {metrics[key]:.3f}" for key, label in _SHOWN if key in metrics)


def trial_note(
    search: str,
    run_name: str,
    headline: str,
    policy: str,
    outcome: str = "running",
    reason: str = "",
    metrics: Mapping[str, float] | None = None,
) -> str:
    """A trial's description: its policy headline, its outcome with its figures (or its failure reason), the policy."""
    figures = _figures(metrics or {})
    detail = reason if outcome == "failed" else figures or reason
    lines = [
        f"**{run_name}** of search `{search}`: {headline}",
        "",
        f"Outcome: **{outcome}**" + (f": {detail}" if detail else ""),
        "",
        f"Policy: `{policy}`",
    ]
    return "\n".join(lines)[:_MAX_NOTE]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def search_note(
    search: str, status: str, params: Mapping[str, str], rows: list[TrialRow], pick: str, verdict: str, minutes: float
) -> str:
    """A search's description once it ends: the result (the confirmation stage's pick, else the most accurate trial),
    the verdict against the baselines and the budget (trials, epochs, backbone, task, outcomes, time).

    ``params`` are the parent run's (the flat configuration); ``pick`` and ``verdict`` are the confirmation stage's
    (empty when it did not run).
    """
    best = next((row for row in rows if row.name == pick), None) or best_row(rows)
    if best is None:
        result = "no trial completed: see the trials' failure reasons"
    else:
        result = f"{best.name}, {_figures(best.metrics)}; policy: {best.policy}"
    lines = [f"**Search `{search}`**: {status.lower()}.", "", f"**Result**: {result}", ""]
    lines += [f"**Verdict against the baselines**: {verdict or _validation_verdict(rows)}", ""]
    baselines = sum(row.baseline is not None for row in rows)
    outcomes = ", ".join(f"{sum(row.outcome == outcome for row in rows)} {outcome}"
                         for outcome in ("completed", "pruned", "failed"))
    epochs = int(params.get("epochs", 0) or 0)
    lines.append(
        f"**Budget**: {_plural(int(params.get('trials', 0) or 0), 'searched trial')} and "
        f"{_plural(baselines, 'baseline')}, {_plural(epochs, 'epoch')} each, backbone `{params.get('backbone', '?')}`, "
        f"task `{params.get('task', '?')}` ({params.get('train_size', '?')} training inputs): {outcomes}; "
        f"{minutes:.1f} min."
    )
    return "\n".join(lines)[:_MAX_NOTE]


def _validation_verdict(rows: list[TrialRow]) -> str:
    """Without a confirmation stage: the best searched trial against the best baseline on target validation."""
    searched = best_row(rows, searched_only=True)
    baseline = best_row([row for row in rows if row.baseline is not None])
    if searched is None or baseline is None:
        return "none: " + ("no baseline completed" if baseline is None else "no searched trial completed")
    gap = searched.score - baseline.score
    return (
        f"{searched.name} {'beat' if gap > 0 else 'did not beat'} the best baseline, {baseline.baseline} "
        f"({baseline.score:.3f}), by {gap:+.3f} in target-validation accuracy (one seed, no confirmation stage)"
    )
