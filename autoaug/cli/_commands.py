"""What each ``autoaug`` subcommand but ``ops`` (in ``_ops``) does once its arguments are parsed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from autoaug import api
from autoaug.cli._args import config_overrides
from autoaug.cli._progress import quiet_libraries, search_display, silent
from autoaug.cli._report import final_report
from autoaug.cli._table import trials_table
from autoaug.config import RESUMABLE_GROUPS, DataConfig, SearchConfig, default_tracking_uri
from autoaug.errors import ConfigError
from autoaug.modalities import get_modality
from autoaug.policy import describe, read_policy
from autoaug.records import (
    existing_store_client,
    find_search,
    load_trial_rows,
    save_search_plots,
    serve_ui,
    trials_page,
)
from autoaug.results import candidates, format_table, rows_to_csv, rows_to_json
from autoaug.tuning import print_line, serve_dashboard, stored_studies, study_storage_url, write_stored_study_plots


def search(args: argparse.Namespace) -> int:
    """Validate everything, run (or resume) the search, print the ranked table and the next steps."""
    if args.quiet:
        quiet_libraries()
    with search_display(args.quiet) as (echo, progress):
        result = api.search(args.config, resume=args.resume, echo=echo, progress=progress, **config_overrides(args))
    print(final_report(result))
    if not result.finished:
        assert result.config is not None  # set on every result a search returns
        print(f"\nThe search stopped before its last trial ended. Continue it with:\n"
              f"  autoaug search --resume {result.name}{_location_flags(result.config)}", file=sys.stderr)
        return 130
    return 0 if result.best is not None else 1


def _location_flags(config: SearchConfig) -> str:
    """The flags a resume needs to find the same cluster, records and saved state (those that are not defaults)."""
    given, defaults = config.settings(RESUMABLE_GROUPS), SearchConfig().settings(RESUMABLE_GROUPS)
    return "".join(f" --{name.replace('_', '-')} {value}" for name, value in given.items() if value != defaults[name])


def _client(args: argparse.Namespace) -> Any:
    """A client of the existing store ``--tracking-uri`` (else ``$MLFLOW_TRACKING_URI``) names; creates none."""
    return existing_store_client(args.tracking_uri or default_tracking_uri())


def trials(args: argparse.Namespace) -> int:
    """Print the ranked trials of a search as a table, JSON or CSV."""
    result = api.trials(args.name, args.tracking_uri, args.experiment)
    rows = list(result.rows)
    if args.format == "json":
        print(rows_to_json(rows))
    elif args.format == "csv":
        print(rows_to_csv(rows), end="")
    else:
        title = f"search {result.name!r} ({result.status}), {len(rows)} trials"
        limit = None if args.all else 20
        if sys.stdout.isatty():
            Console().print(trials_table(rows, limit, title))
        else:
            print(title)
            print(format_table(rows, limit))
    return 0


def export(args: argparse.Namespace) -> int:
    """Write the picked policy of a search (with its scores) as JSON and, where its modality has one, as
    standalone source (a torchvision-only snippet for images, or ``--format``'s library's own transforms)."""
    exported = api.export(args.name, args.output, args.pick, args.tracking_uri, args.experiment, args.format)
    policy, choice = exported.policy, exported.choice
    assert policy.metadata is not None  # export writes the trial's scores
    scores = "  ".join(f"{name} {value:.3f}" for name, value in policy.metadata.scores().items())
    print(f"search {exported.search!r}, pick {args.pick}: trial {choice.row.name} ({choice.reason})")
    print(f"  {scores}")
    if policy.metadata.verdict:
        print(f"  confirmation: {policy.metadata.verdict}")
    print(f"  {describe(policy)}")
    snippet = f"and {exported.snippet} ({args.format or 'standalone'}: needs no autoaug)"
    if exported.snippet is None:
        snippet = f"({policy.modality} has no standalone source)"
    print(f"wrote {exported.path} (load with autoaug.load_policy) {snippet}")
    return 0


def plots(args: argparse.Namespace) -> int:
    """Write a search's plots (trade-off scatter, accuracy per trial, best policy samples and, from its stored Optuna
    study, parameter importances and parallel coordinates) as PNG files."""
    client = _client(args)
    parent = find_search(client, args.experiment, args.name)
    rows = load_trial_rows(client, parent)
    paths = save_search_plots(client, parent, args.output, rows)
    study_url = study_storage_url(args.study_storage, args.tracking_uri or default_tracking_uri())
    try:
        paths += write_stored_study_plots(study_url, parent.info.run_name, args.output)
        missing = ""
    except ConfigError as exc:
        missing = f"  no Optuna plots: {exc}"
    print(f"search {parent.info.run_name!r}: wrote {', '.join(str(path) for path in paths)}")
    if missing:
        print(missing)
    if not candidates(rows):
        print("  no completed trial recorded affinity and diversity (an older search?): the scatter says so")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Fine-tune under the policies and the baselines over several seeds; report held-out test accuracy."""
    if args.quiet:
        quiet_libraries()
    # --baselines, when given, is among the configuration flags: it reaches evaluate's own argument of that name.
    outcome = api.evaluate(args.policies, seeds=args.seeds, repeats=args.repeats, config=args.config,
                           output_json=args.output_json, plot=args.plot, echo=silent if args.quiet else print_line,
                           **config_overrides(args))
    print("\n" + outcome.table)
    print(f"\nwrote {args.output_json} and {args.plot}; MLflow run {outcome.run_id} "
          f"in experiment {outcome.record['mlflow']['experiment']!r} (autoaug ui)")
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
