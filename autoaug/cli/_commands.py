"""What each ``autoaug`` subcommand but ``ops`` (in ``_ops``) does once its arguments are parsed."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from autoaug.cli._args import config_overrides, evaluation_seeds
from autoaug.cli._report import final_report
from autoaug.config import RESUMABLE_GROUPS, DataConfig, SearchConfig, default_tracking_uri, load_config
from autoaug.errors import ConfigError
from autoaug.evaluate import prepare_evaluation, run_evaluation
from autoaug.modalities import get_modality
from autoaug.policy import PolicyMetadata, describe, read_policy, save_policy
from autoaug.records import (
    existing_store_client,
    find_search,
    load_trial_rows,
    read_trial_policy,
    save_search_plots,
    serve_ui,
    trials_page,
)
from autoaug.results import TrialRow, candidates, choose, format_table, rows_to_csv, rows_to_json
from autoaug.search import (
    prepare_search,
    recorded_config,
    run_search,
    serve_dashboard,
    stored_studies,
    study_storage_url,
)
from autoaug.vocabulary import TAG_BEST_BASELINE, TAG_PICK_RUN, TAG_VERDICT


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
    """The flags a resume needs to find the same cluster, records and saved state (those that are not defaults)."""
    given, defaults = config.settings(RESUMABLE_GROUPS), SearchConfig().settings(RESUMABLE_GROUPS)
    return "".join(f" --{name.replace('_', '-')} {value}" for name, value in given.items() if value != defaults[name])


def _client(args: argparse.Namespace) -> Any:
    """A client of the existing store ``--tracking-uri`` (else ``$MLFLOW_TRACKING_URI``) names; creates none."""
    return existing_store_client(args.tracking_uri or default_tracking_uri())


def trials(args: argparse.Namespace) -> int:
    """Print the ranked trials of a search as a table, JSON or CSV."""
    client = _client(args)
    parent = find_search(client, args.experiment, args.name)
    rows = load_trial_rows(client, parent)
    if args.format == "json":
        print(rows_to_json(rows))
    elif args.format == "csv":
        print(rows_to_csv(rows), end="")
    else:
        print(f"search {parent.info.run_name!r} ({parent.info.status.lower()}), {len(rows)} trials")
        print(format_table(rows, None if args.all else 20))
    return 0


def export(args: argparse.Namespace) -> int:
    """Write the picked policy of a search (with its scores) as JSON and, where its modality has one, as
    standalone source (a torchvision-only snippet for images)."""
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
    source = get_modality(policy.modality).standalone_source(policy)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        save_policy(policy, args.output)
        if source is not None:
            snippet_path.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output} or {snippet_path} ({exc.strerror}): choose another -o") from None
    scores = "  ".join(f"{name} {value:.3f}" for name, value in metadata.scores().items())
    print(f"search {search_name!r}, pick {args.pick}: trial {row.name} ({choice.reason})")
    print(f"  {scores}")
    if metadata.verdict:
        print(f"  confirmation: {metadata.verdict}")
    print(f"  {describe(policy)}")
    snippet = f"and {snippet_path} (standalone: needs no autoaug)"
    if source is None:
        snippet = f"({policy.modality} has no standalone source)"
    print(f"wrote {args.output} (load with autoaug.load_policy) {snippet}")
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
    baselines = list(get_modality(config.data.modality).baselines()) if args.baselines is None else args.baselines
    prepared = prepare_evaluation(config, args.policies, baselines, evaluation_seeds(args, config.training.seed))
    outcome = run_evaluation(prepared, args.output_json, args.plot)
    print("\n" + outcome.table)
    print(f"\nwrote {args.output_json} and {args.plot}; MLflow run {outcome.run_id} "
          f"in experiment {config.store.experiment!r} (autoaug ui)")
    return 0


def ui(args: argparse.Namespace) -> int:
    """Serve the MLflow UI on the search records (bound to 127.0.0.1 unless told otherwise)."""
    tracking_uri = args.tracking_uri or default_tracking_uri()
    page = trials_page(tracking_uri, args.experiment)
    print(f"MLflow UI at http://{args.host}:{args.port} (Ctrl-C to stop)")
    if page:
        print(f"  the trials of experiment {args.experiment!r}, model-training view: http://{args.host}:{args.port}/{page}")
    return serve_ui(tracking_uri, args.host, args.port)


def dashboard(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard on the searches' stored Optuna studies (bound to 127.0.0.1 unless told otherwise)."""
    url = study_storage_url(args.study_storage, args.tracking_uri or default_tracking_uri())
    storage = stored_studies(url)
    print(f"optuna-dashboard at http://{args.host}:{args.port} on {url} (Ctrl-C to stop)", flush=True)
    serve_dashboard(storage, args.host, args.port)
    return 0


def preview(args: argparse.Namespace) -> int:
    """Write a PNG grid of the policy applied to a few sample images."""
    policy = read_policy(args.policy)
    modality = get_modality(policy.modality)
    if args.images:
        data = DataConfig(modality=policy.modality, task="folders", train_dir=args.images, val_dir=args.images)
    else:
        data = DataConfig(modality=policy.modality, train_size=100)
    inputs = modality.preview_inputs(modality.load_task(data, seed=0))
    modality.preview(policy, inputs, samples=args.samples, seed=args.seed).save(args.output)
    print(f"wrote {args.output}: {len(inputs)} inputs x {args.samples} draws of {describe(policy)}")
    return 0
