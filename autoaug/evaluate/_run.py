"""``autoaug evaluate`` end to end: validate every input, fine-tune, report, record in MLflow.

Everything a user can get wrong (policy files, baselines, seeds, backbone, data, weights) is checked in
:func:`prepare_evaluation`, before any model trains.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities import Run

from autoaug.evaluate import _report as report
from autoaug.modalities.image._backbone import PretrainedWeights, check_model_name, resolve_weights
from autoaug.config import SearchConfig
from autoaug.modalities.image.data import TransferTask
from autoaug.errors import ConfigError
from autoaug.evaluate._repeats import SeedResult, check_seeds, run_evaluation, summarise
from autoaug.records._evaluation import EvaluationTracker, find_policy_source, source_line
from autoaug.inputs import load_task, select_baselines
from autoaug.policy import Policy, describe, read_policy
from autoaug.records._search import TAG_SEARCH, check_store
from autoaug.modalities.image._train import Recipe

__all__ = ["EvaluationOutcome", "PreparedEvaluation", "prepare_evaluation", "run_evaluation_command"]

# Config keys that shape the fine-tuning recipe and the data; the rest only matter to a search.
_RECIPE_KEYS = ("task", "train_dir", "val_dir", "test_dir", "image_size", "train_size", "val_fraction", "backbone",
                "epochs", "batch_size", "lr", "cpus_per_trial")


@dataclass(frozen=True)
class PreparedEvaluation:
    """An evaluation whose inputs were all validated; nothing has trained yet.

    Attributes:
        config: The recipe and data settings (as for ``autoaug search``).
        files: Each evaluated policy's file, by label.
        evaluated: The evaluated policies, by label (file name without extension).
        baselines: The baseline policies, by name.
        seeds: Fine-tuning seeds.
        task: The data; ``config.seed`` fixed its split, as in the search.
        weights: The pre-trained weights every fine-tune starts from.
    """

    config: SearchConfig
    files: dict[str, Path]
    evaluated: dict[str, Policy]
    baselines: dict[str, Policy]
    seeds: tuple[int, ...]
    task: TransferTask
    weights: PretrainedWeights


@dataclass(frozen=True)
class EvaluationOutcome:
    """What a finished evaluation printed, wrote and recorded."""

    table: str
    record: dict[str, Any]
    run_id: str


def _label_policies(paths: Sequence[Path], taken: Iterable[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    taken = set(taken)
    for path in paths:
        label = path.stem
        if label in files or label in taken:
            clash = "another POLICY file" if label in files else "a baseline"
            raise ConfigError(
                f"{path}: its label {label!r} (the file name) is also {clash}'s: rename the file, "
                "or leave that baseline out with --baselines"
            )
        files[label] = path
    return files


def prepare_evaluation(
    config: SearchConfig, policy_files: Sequence[Path], baselines: Iterable[str], seeds: Sequence[int]
) -> PreparedEvaluation:
    """Read the policy files and check the baselines, seeds, backbone, data, weights and tracking store.

    Raises:
        AutoaugError: The first problem found, naming the file, flag or value and what was expected.
    """
    chosen = select_baselines(baselines)
    files = _label_policies(policy_files, chosen)
    evaluated = {label: read_policy(path) for label, path in files.items()}
    checked_seeds = check_seeds(seeds)
    check_model_name(config.backbone)
    task = load_task(config)
    weights = resolve_weights(config.backbone, config.weights)
    check_store(config.tracking_uri, config.experiment)
    return PreparedEvaluation(config, files, evaluated, chosen, checked_seeds, task, weights)


def _print_line(line: str) -> None:
    print(line, flush=True)


def _policy_entries(prepared: PreparedEvaluation, sources: dict[str, Run]) -> dict[str, dict[str, Any]]:
    """Each evaluated policy's file, summary and source trial, for the JSON record."""
    entries = {}
    for label, policy in prepared.evaluated.items():
        source = sources.get(label)
        entries[label] = {
            "file": str(prepared.files[label]),
            "policy": describe(policy),
            "source_run_id": source.info.run_id if source else None,
            "source_search": source.data.tags.get(TAG_SEARCH) if source else None,
        }
    return entries


def _heading(prepared: PreparedEvaluation) -> str:
    config, task = prepared.config, prepared.task
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    return (
        f"Held-out target test accuracy ({task.name}: {len(task.test)} test images; {config.backbone}, {epochs} "
        f"on {len(task.train)} images), seeds {', '.join(map(str, prepared.seeds))}:"
    )


def run_evaluation_command(
    prepared: PreparedEvaluation, output_json: Path, plot: Path, echo: Callable[[str], None] = _print_line
) -> EvaluationOutcome:
    """Fine-tune every policy under every seed, then write the JSON and the plot and close the MLflow run.

    Example:
        >>> run_evaluation_command(prepare_evaluation(load_config(), [Path("best_policy.json")], ["none"], [0, 1]),
        ...                        Path("evaluation.json"), Path("evaluation.png"))  # doctest: +SKIP
    """
    config, seeds = prepared.config, prepared.seeds
    policies = {**prepared.evaluated, **prepared.baselines}
    tracker = EvaluationTracker(config.tracking_uri, config.experiment, "evaluate-" + "+".join(prepared.evaluated))
    found = {label: find_policy_source(tracker.client, tracker.experiment_id, p) for label, p in prepared.evaluated.items()}
    sources = {label: run for label, run in found.items() if run is not None}
    params = {key: getattr(config, key) for key in _RECIPE_KEYS if getattr(config, key) is not None}
    params.update(data_seed=config.seed, weights=prepared.weights.source, seeds=" ".join(map(str, seeds)))
    tracker.start(params, policies, sources)

    total = len(seeds) * len(policies)
    echo(
        f"evaluating {', '.join(prepared.evaluated)} against {', '.join(prepared.baselines) or 'no baseline'} "
        f"over seeds {', '.join(map(str, seeds))}: {total} fine-tunes of {config.backbone} "
        f"({prepared.weights.source}), {len(prepared.task.train)} training / {len(prepared.task.test)} held-out "
        "test images"
    )
    for label, run in sources.items():
        echo(source_line(label, run))
    done: list[SeedResult] = []

    def progress(result: SeedResult) -> None:
        done.append(result)
        tracker.log_result(result)
        echo(
            f"[{len(done):>3}/{total}] seed {result.seed:<3} {result.policy:<28} test_accuracy "
            f"{result.test_accuracy:.3f}  val_accuracy {result.val_accuracy:.3f}  ({result.seconds:.0f}s)"
        )

    started = time.time()
    # The search's recipe, threads included: oversubscribed intra-op threads slow training many times over.
    threads = max(1, int(config.cpus_per_trial))
    recipe = Recipe(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, threads=threads)
    try:
        results = run_evaluation(prepared.task, prepared.weights, policies, seeds, recipe, on_result=progress)
    except BaseException as exc:
        tracker.stop("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    stats = summarise(results)
    compared = report.comparisons(stats, list(prepared.evaluated))
    table = report.format_table(stats, compared, _heading(prepared))
    context = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "recipe": params,
        "policies": _policy_entries(prepared, sources),
        "baselines": list(prepared.baselines),
        "seconds": round(time.time() - started, 1),
        "mlflow": {"tracking_uri": tracker.tracking_uri, "experiment": config.experiment, "run_id": tracker.run_id},
    }
    record = report.to_record(results, stats, compared, context)
    record_json = json.dumps(record, indent=2) + "\n"
    output_json.parent.mkdir(parents=True, exist_ok=True)
    output_json.write_text(record_json, encoding="utf-8")
    title = f"{prepared.task.name}: held-out target test accuracy, mean ± std over {len(seeds)} seeds"
    report.plot(stats, list(prepared.evaluated), plot, title)
    tracker.finish(stats, compared, table, record_json, plot)
    return EvaluationOutcome(table, record, tracker.run_id)
