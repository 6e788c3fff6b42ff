"""What ``autoaug search`` prints at the end: the ranked table, the pick, the baselines, what to run next."""

from __future__ import annotations

from autoaug.api import SearchResult
from autoaug.results import Selection, TrialRow, best_row, format_table
from autoaug.vocabulary import TEST_ACCURACY


def _test_accuracy(row: TrialRow | None) -> str:
    value = row.metrics.get(TEST_ACCURACY) if row else None
    return f"{value:.3f}" if value is not None else "-"


def final_report(result: SearchResult) -> str:
    """The summary printed at the end of ``autoaug search``."""
    rows = list(result.rows)
    lines = ["", f"Trials of {result.name!r}, ranked by target-validation accuracy:", format_table(rows, 15)]
    if result.best is None:
        lines.append("\nNo trial completed: see the failure reasons above and in the MLflow UI.")
        return "\n".join(lines)
    best = result.best
    chosen = "Exported policy (confirmed on fresh seeds)" if result.selection else "Best policy"
    lines += [
        "",
        f"{chosen}: {best.name}  val_accuracy {best.score:.3f}  held-out test accuracy {_test_accuracy(best)}",
        f"  {best.policy}",
        "",
        "Held-out target test accuracy (reported only; trials are ranked on validation):",
    ]
    baselines = [row for row in rows if row.baseline]
    for row in [best, *[b for b in baselines if b is not best]]:
        label = f"baseline {row.baseline}" if row.baseline else f"best searched ({row.name})"
        lines.append(f"  {label:<40} {_test_accuracy(row)}")
    searched = best_row(rows, searched_only=True)
    top_baseline = best_row(baselines)
    if result.selection is not None:
        lines += ["", *confirmation_lines(result.selection)]
    elif searched and top_baseline:
        gap = searched.score - top_baseline.score
        verdict = "beat" if gap > 0 else "did not beat"
        lines.append(
            f"  The best searched policy {verdict} the best baseline ({top_baseline.baseline}) on validation "
            f"by {gap:+.3f}."
        )
    failed = sum(row.outcome == "failed" for row in rows)
    if failed:
        lines.append(f"  {failed} trial(s) failed; their reasons are in the table and in MLflow.")
    next_steps = [
        ("autoaug ui", "MLflow UI at http://127.0.0.1:5000; it prints the trials page (model-training view)"),
        (f"autoaug trials --name {result.name}", "every trial, ranked"),
        (f"autoaug plots --name {result.name}", "relevance vs diversity, accuracy per trial, best samples, Optuna's"),
        (f"autoaug export --name {result.name}", "best_policy.json + best_policy.py (--pick knee: a trade-off)"),
        ("autoaug evaluate best_policy.json", "prove it against the baselines over 3 more seeds"),
    ]
    width = max(len(command) for command, _ in next_steps)
    lines += ["", f"Finished in {(result.seconds or 0.0) / 60:.1f} min. Next:"]
    lines += [f"  {command:<{width}}  # {what}" for command, what in next_steps]
    lines.append("  then in your training code: from autoaug import load_policy; tf = load_policy('best_policy.json')")
    return "\n".join(lines)


def confirmation_lines(selection: Selection) -> list[str]:
    """The confirmation stage as a table: each policy's mean score on the fresh seeds and its paired gap."""
    seeds = ", ".join(map(str, selection.seeds))
    lines = [
        f"Confirmation on fresh seeds {seeds} (target-validation accuracy, mean ± std; paired gap to the best "
        f"baseline, {selection.best_baseline}, with its 95% interval):",
    ]
    for label, mean in sorted(selection.means.items(), key=lambda item: -item[1]):
        gap = selection.gaps.get(label)
        verdict = "" if gap is None else f"  gap {gap.describe()}{'  confirmed' if gap.clear else ''}"
        marker = "*" if label == selection.pick else " "
        lines.append(f" {marker} {label:<38} {mean:.3f} ± {selection.stds[label]:.3f}{verdict}")
    lines.append(f"  Verdict: {selection.verdict()}.")
    return lines
