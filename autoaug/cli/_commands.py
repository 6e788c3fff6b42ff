"""What each ``autoaug`` subcommand does once its arguments are parsed."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys

from mlflow import MlflowClient

from autoaug.cli import config_overrides, evaluation_seeds
from autoaug.config import SearchConfig, load_config
from autoaug.modalities.image.data import load_digits_task, load_folder_task
from autoaug.errors import ConfigError
from autoaug.evaluate._run import prepare_evaluation, run_evaluation_command
from autoaug.ops import list_ops
from autoaug.policy import (
    PolicyMetadata,
    baseline_policies,
    describe,
    policy_to_snippet,
    read_policy,
    render_grid,
    save_policy,
)
from autoaug.results._rows import TrialRow, best_row, format_table, load_trial_rows
from autoaug.search import SearchOutcome, prepare_search, recorded_config, run_search
from autoaug.records._plots import save_search_plots
from autoaug.results._selection import Selection
from autoaug.records._search import TAG_BEST_BASELINE, TAG_PICK_RUN, TAG_VERDICT, find_search, prepare_store, store_client
from autoaug.records._search import read_policy as read_trial_policy
from autoaug.results._tradeoff import candidates, choose


def search(args: argparse.Namespace) -> int:
    """Validate everything, run (or resume) the search, print the ranked table and the next steps."""
    if args.resume and args.config:
        raise ConfigError("--resume continues a search with its recorded settings; leave --config out")
    if args.resume:
        config = recorded_config(args.resume, config_overrides(args))
    else:
        config = load_config(args.config, config_overrides(args))
    prepared = prepare_search(config)
    outcome = run_search(prepared, resume=bool(args.resume))
    print(final_report(outcome))
    if not outcome.finished:
        print(f"\nThe search stopped before its last trial ended. Continue it with:\n"
              f"  autoaug search --resume {outcome.name}{_location_flags(config)}", file=sys.stderr)
        return 130
    return 0 if outcome.best is not None else 1


def _location_flags(config: SearchConfig) -> str:
    """The flags a resume needs to find the same cluster, records and saved state."""
    defaults = SearchConfig.model_fields
    flags = ""
    for name in ("address", "tracking_uri", "experiment", "storage_path"):
        value = getattr(config, name)
        if value != defaults[name].default:
            flags += f" --{name.replace('_', '-')} {value}"
    return flags


def _test_accuracy(row: TrialRow | None) -> str:
    value = row.metrics.get("test_accuracy") if row else None
    return f"{value:.3f}" if value is not None else "-"


def final_report(outcome: SearchOutcome) -> str:
    """The summary printed at the end of ``autoaug search``."""
    lines = ["", f"Trials of {outcome.name!r}, ranked by target-validation accuracy:", format_table(outcome.rows, 15)]
    if outcome.best is None:
        lines.append("\nNo trial completed: see the failure reasons above and in the MLflow UI.")
        return "\n".join(lines)
    best = outcome.best
    chosen = "Exported policy (confirmed on fresh seeds)" if outcome.selection else "Best policy"
    lines += [
        "",
        f"{chosen}: {best.name}  val_accuracy {best.score:.3f}  held-out test accuracy {_test_accuracy(best)}",
        f"  {best.policy}",
        "",
        "Held-out target test accuracy (reported only; trials are ranked on validation):",
    ]
    baselines = [row for row in outcome.rows if row.baseline]
    for row in [best, *[b for b in baselines if b is not best]]:
        label = f"baseline {row.baseline}" if row.baseline else f"best searched ({row.name})"
        lines.append(f"  {label:<40} {_test_accuracy(row)}")
    searched = best_row(outcome.rows, searched_only=True)
    top_baseline = best_row(baselines)
    if outcome.selection is not None:
        lines += ["", *confirmation_lines(outcome.selection)]
    elif searched and top_baseline:
        gap = searched.score - top_baseline.score
        verdict = "beat" if gap > 0 else "did not beat"
        lines.append(
            f"  The best searched policy {verdict} the best baseline ({top_baseline.baseline}) on validation "
            f"by {gap:+.3f}."
        )
    failed = sum(row.outcome == "failed" for row in outcome.rows)
    if failed:
        lines.append(f"  {failed} trial(s) failed; their reasons are in the table and in MLflow.")
    next_steps = [
        ("autoaug ui", "parent and trial runs at http://127.0.0.1:5000"),
        (f"autoaug trials --name {outcome.name}", "every trial, ranked"),
        (f"autoaug plots --name {outcome.name}", "relevance vs diversity, accuracy per trial, best samples"),
        (f"autoaug export --name {outcome.name}", "best_policy.json + best_policy.py (--pick knee: a trade-off)"),
        ("autoaug evaluate best_policy.json", "prove it against the baselines over 3 more seeds"),
    ]
    width = max(len(command) for command, _ in next_steps)
    lines += ["", f"Finished in {outcome.seconds / 60:.1f} min. Next:"]
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


def _client(args: argparse.Namespace) -> MlflowClient:
    return store_client(args.tracking_uri)


def trials(args: argparse.Namespace) -> int:
    """Print the ranked trials of a search."""
    client = _client(args)
    parent = find_search(client, args.experiment, args.name)
    rows = load_trial_rows(client, parent)
    print(f"search {parent.info.run_name!r} ({parent.info.status.lower()}), {len(rows)} trials")
    print(format_table(rows, None if args.all else 20))
    return 0


def export(args: argparse.Namespace) -> int:
    """Write the picked policy of a search (with its scores) as JSON and as a torchvision-only snippet."""
    client = _client(args)
    parent = find_search(client, args.experiment, args.name)
    search_name = parent.info.run_name
    tags = parent.data.tags
    confirmed = (tags[TAG_PICK_RUN], tags.get(TAG_VERDICT, "")) if TAG_PICK_RUN in tags else None
    choice = choose(load_trial_rows(client, parent), args.pick, search_name, confirmed)
    row = choice.row
    metadata = _export_metadata(row, search_name, args.pick, tags, parent.data.metrics)
    policy = dataclasses.replace(read_trial_policy(client, client.get_run(row.run_id)), metadata=metadata)
    snippet_path = args.output.with_suffix(".py")
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        save_policy(policy, args.output)
        snippet_path.write_text(policy_to_snippet(policy), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output} or {snippet_path} ({exc.strerror}): choose another -o") from None
    scores = "  ".join(f"{name} {value:.3f}" for name, value in metadata.scores().items())
    print(f"search {search_name!r}, pick {args.pick}: trial {row.name} ({choice.reason})")
    print(f"  {scores}")
    if metadata.verdict:
        print(f"  confirmation: {metadata.verdict}")
    print(f"  {describe(policy)}")
    print(f"wrote {args.output} (load with autoaug.load_policy) and {snippet_path} (torchvision only)")
    return 0


def _export_metadata(
    row: TrialRow, search: str, pick: str, parent_tags: dict[str, str], parent_metrics: dict[str, float]
) -> PolicyMetadata:
    """The exported trial's scores and, after a confirmation stage, its paired gap to the best baseline.

    A baseline pick has no gap of its own (it is the best baseline); its file still names the seeds' count.
    """
    texts = {"search": search, "trial": row.name, "run_id": row.run_id, "pick": pick}
    if TAG_VERDICT not in parent_tags:
        return PolicyMetadata.from_scores(row.metrics, **texts)
    gap = {f"gap_{key}": row.metrics[f"confirm_gap_{key}"] for key in ("mean", "std", "ci_low", "ci_high")
           if f"confirm_gap_{key}" in row.metrics}
    seeds = row.metrics.get("confirm_gap_n", parent_metrics.get("confirm_seeds"))
    metadata = PolicyMetadata.from_scores(
        row.metrics, **texts, best_baseline=parent_tags.get(TAG_BEST_BASELINE, ""),
        verdict=parent_tags[TAG_VERDICT] if pick == "best" else "",
    )
    return dataclasses.replace(metadata, confirm_seeds=int(seeds) if seeds else None, **gap)


def plots(args: argparse.Namespace) -> int:
    """Write a search's plots (trade-off scatter, accuracy per trial, best policy samples) as PNG files."""
    client = _client(args)
    parent = find_search(client, args.experiment, args.name)
    rows = load_trial_rows(client, parent)
    paths = save_search_plots(client, parent, args.output, rows)
    print(f"search {parent.info.run_name!r}: wrote {', '.join(str(path) for path in paths)}")
    if not candidates(rows):
        print("  no completed trial recorded affinity and diversity (an older search?): the scatter says so")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Fine-tune under the policies and the baselines over several seeds; report held-out test accuracy."""
    config = load_config(args.config, config_overrides(args))
    baselines = list(baseline_policies()) if args.baselines is None else args.baselines
    prepared = prepare_evaluation(config, args.policies, baselines, evaluation_seeds(args, config.seed))
    outcome = run_evaluation_command(prepared, args.output_json, args.plot)
    print("\n" + outcome.table)
    print(f"\nwrote {args.output_json} and {args.plot}; MLflow run {outcome.run_id} "
          f"in experiment {config.experiment!r} (autoaug ui)")
    return 0


def ui(args: argparse.Namespace) -> int:
    """Serve the MLflow UI on the search records (bound to 127.0.0.1 unless told otherwise)."""
    uri = prepare_store(args.tracking_uri)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
               "--host", args.host, "--port", str(args.port), "--workers", "1"]
    print(f"MLflow UI at http://{args.host}:{args.port} (Ctrl-C to stop)")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return subprocess.call(command, env=env)


def ops(args: argparse.Namespace) -> int:
    """List the registered ops with their real magnitude ranges."""
    found = list_ops(args.pattern)
    if not found:
        raise ConfigError(f"no op matches {args.pattern!r}")
    print(f"{'op':<22} {'magnitude 0 -> 1':<22} {'signed':<7} description")
    for op in found:
        span = f"{op.low:g} -> {op.high:g}" if op.uses_magnitude else "(none)"
        print(f"{op.name:<22} {span:<22} {'yes' if op.signed else '':<7} {op.description}")
    return 0


def preview(args: argparse.Namespace) -> int:
    """Write a PNG grid of the policy applied to a few sample images."""
    policy = read_policy(args.policy)
    if args.images:
        task = load_folder_task(args.images, args.images)
    else:
        task = load_digits_task(train_size=100)
    images = task.train.images[:: max(1, len(task.train) // 6)][:6]
    render_grid(policy, images, samples=args.samples, seed=args.seed).save(args.output)
    print(f"wrote {args.output}: {len(images)} images x {args.samples} draws of {describe(policy)}")
    return 0
