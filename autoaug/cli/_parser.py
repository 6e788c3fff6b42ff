"""The argument parser of every ``autoaug`` command; the configuration's flags are generated from its model.

Imports neither torch nor Ray, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from pydantic.fields import FieldInfo

from autoaug import __version__
from autoaug.config import FINE_TUNE_GROUPS, GROUPS, TASK_DEFAULTS, DataConfig, SearchConfig, StoreConfig, check_name
from autoaug.results import DEFAULT_REPEATS, PICKS
from autoaug.vocabulary import EXPORT_FORMATS

DEFAULT_EXPERIMENT = StoreConfig.model_fields["experiment"].default
_TRACKING_URI_HELP = StoreConfig.model_fields["tracking_uri"].description
COMMAND_GROUPS = {"search": tuple(GROUPS), "evaluate": (*FINE_TUNE_GROUPS, "store")}
"""The configuration groups each command takes: ``evaluate`` what shapes a fine-tune and where it is recorded."""
TRIAL_FORMATS = ("table", "json", "csv")


def search_name(value: str) -> str:
    """argparse type of every flag that names a search: the one name rule of the config's ``name``."""
    try:
        return check_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_config_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per setting of the command's groups; unset flags leave the file or default value alone."""
    for group in COMMAND_GROUPS[command]:
        for name, field in GROUPS[group].model_fields.items():
            _add_setting_flag(parser, name, field)


def _add_setting_flag(parser: argparse.ArgumentParser, name: str, field: FieldInfo) -> None:
    """The flag of one setting, typed from its annotation."""
    flag = "--" + name.replace("_", "-")
    default = "the task's" if name in TASK_DEFAULTS else field.default
    # A default read when the config is built (from the environment) is spelled out by its description.
    help_text = field.description if field.default_factory else f"{field.description} (default: {default})"
    args = typing.get_args(field.annotation)
    if field.annotation is bool:
        parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
    elif typing.get_origin(field.annotation) is tuple:
        parser.add_argument(flag, dest=name, nargs="*", default=None, metavar=name.upper(), help=help_text)
    else:
        scalar = field.annotation if not args else next(a for a in args if a is not type(None))
        kind = search_name if name == "name" else scalar if scalar in (int, float) else str
        parser.add_argument(flag, dest=name, type=kind, default=None, metavar=name.upper(), help=help_text)


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--verbose`` of a long-running command (``autoaug -v COMMAND`` still works too)."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument("-q", "--quiet", action="store_true", help="print only the final report and errors")
    output.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show debug logging")


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help=_TRACKING_URI_HELP)
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="MLflow experiment (default: %(default)s)")


def _add_search_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", type=search_name, help="search name (default: the latest search)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="autoaug", description="Search augmentation policies for fine-tuning pre-trained backbones."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser(
        "search",
        help="run a policy search (no arguments: the built-in offline digits task)",
        description="Fine-tune a pre-trained timm backbone under proposed policies on Ray, score each on clean "
        "target-domain validation data and record every trial in MLflow. Flags override --config.",
    )
    search.add_argument("--config", type=Path, help="YAML search configuration (keys as the flags below)")
    _add_setting_flag(search, "name", SearchConfig.model_fields["name"])
    search.add_argument("--resume", metavar="NAME", type=search_name, help="continue the stopped search NAME with "
                        "its recorded settings (only --address, --tracking-uri, --experiment, --storage-path, "
                        "--concurrency and --max-failures may change)")
    _add_output_flags(search)
    _add_config_flags(search, "search")

    trials = commands.add_parser("trials", help="ranked table of a search's trials")
    _add_search_name(trials)
    trials.add_argument("--all", action="store_true", help="show every trial, not only the top 20 (json and csv "
                        "always hold every trial)")
    trials.add_argument("--format", choices=TRIAL_FORMATS, default="table", help="table for reading; json or csv "
                        "(every metric of every trial, nothing else on stdout) for scripts (default: %(default)s)")
    _add_store_flags(trials)

    export = commands.add_parser(
        "export", help="write the best (or a trade-off) policy as JSON plus a torchvision-only snippet (or, with "
        "--format, torchvision, timm, albumentations or kornia code)"
    )
    _add_search_name(export)
    export.add_argument("-o", "--output", type=Path, default=Path("best_policy.json"), help="default: %(default)s")
    export.add_argument("--pick", choices=PICKS, default="best", help="best: highest target val accuracy; pareto: "
                        "the most accurate trial on the affinity-diversity Pareto front; knee: the front point "
                        "closest to the utopia point after min-max normalisation (default: %(default)s)")
    export.add_argument("--format", choices=EXPORT_FORMATS, help="write the .py file from this library's own "
                        "transforms instead of the torchvision-only snippet; refused, naming each op, when an op has "
                        "no exact counterpart there (the README's mapping table)")
    _add_store_flags(export)

    plots = commands.add_parser("plots", help="write a search's plots as PNG files")
    _add_search_name(plots)
    plots.add_argument("-o", "--output", type=Path, default=Path("plots"), help="folder (default: %(default)s)")
    _add_store_flags(plots)
    plots.add_argument("--study-storage", help=StoreConfig.model_fields["study_storage"].description)

    evaluate = commands.add_parser(
        "evaluate",
        help="prove a policy: fine-tune under it and under the baselines over several seeds, score held-out test data",
        description="Fine-tune with each POLICY and with the baselines on the search's recipe (--config and the "
        "flags below, as for autoaug search), repeat over seeds, and report held-out target test accuracy as "
        "mean ± std (terminal table, JSON, plot, MLflow run tagged autoaug.role=evaluation).",
    )
    evaluate.add_argument("policies", nargs="+", type=Path, metavar="POLICY", help="policy JSON file(s), e.g. "
                          "from autoaug export; each is labelled by its file name without .json")
    evaluate.add_argument("--config", type=Path, help="YAML search configuration (keys as the flags below)")
    evaluate.add_argument("--baselines", nargs="*", metavar="BASELINE", help="baselines to compare with "
                          "(default: all of none, trivial_augment_wide, rand_augment, auto_augment)")
    seeds = evaluate.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="fine-tuning seeds (default: the "
                       f"{DEFAULT_REPEATS} after --seed, which a search trains with); --seed keeps fixing the data split")
    seeds.add_argument("--repeats", type=int, metavar="N", help="use the N seeds after --seed")
    evaluate.add_argument("--output-json", type=Path, default=Path("evaluation.json"), help="default: %(default)s")
    evaluate.add_argument("--plot", type=Path, default=Path("evaluation.png"), help="default: %(default)s")
    _add_output_flags(evaluate)
    _add_config_flags(evaluate, "evaluate")

    ui = commands.add_parser("ui", help="open the MLflow UI on the search records")
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s; anything else exposes "
                    "the records to the network)")
    ui.add_argument("--port", type=int, default=5000, help="default: %(default)s")
    _add_store_flags(ui)

    dashboard = commands.add_parser("dashboard", help="open optuna-dashboard on the searches' Optuna studies")
    dashboard.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s; anything else "
                           "exposes the studies to the network)")
    dashboard.add_argument("--port", type=int, default=8080, help="default: %(default)s")
    dashboard.add_argument("--tracking-uri", help=_TRACKING_URI_HELP + "; the studies are beside a local store")
    dashboard.add_argument("--study-storage", help=StoreConfig.model_fields["study_storage"].description)

    ops = commands.add_parser("ops", help="list augmentation ops and their magnitude ranges")
    ops.add_argument("pattern", nargs="?", default="*", help="glob over op names (default: all)")
    ops.add_argument("--modality", default=DataConfig.model_fields["modality"].default,
                     help="the modality whose ops to list (default: %(default)s)")

    preview = commands.add_parser("preview", help="write a PNG grid of a policy applied to sample images")
    preview.add_argument("policy", type=Path, help="policy JSON file (e.g. from autoaug export)")
    preview.add_argument("-o", "--output", type=Path, default=Path("preview.png"), help="default: %(default)s")
    preview.add_argument("--images", type=Path, help="image folder <dir>/<class>/* (default: built-in digits)")
    preview.add_argument("--samples", type=int, default=8, help="augmented draws per image (default: %(default)s)")
    preview.add_argument("--seed", type=int, default=0)
    return parser
