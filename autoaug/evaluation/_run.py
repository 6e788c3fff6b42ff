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

from autoaug.config import FINE_TUNE_GROUPS, SearchConfig
from autoaug.errors import ConfigError, PolicyError
from autoaug.evaluation import _report as report
from autoaug.evaluation._repeats import repeat_fine_tunes
from autoaug.modalities import Backbone, Modality, Task, get_modality
from autoaug.policy import Policy, describe, read_policy
from autoaug.records import EvaluationTracker, PolicySource, check_store
from autoaug.results import Comparison, PolicyStats, SeedResult, check_seeds, summarise

__all__ = ["EvaluationOutcome", "PreparedEvaluation", "prepare_evaluation", "run_evaluation"]


@dataclass(frozen=True)
class PreparedEvaluation:
    """An evaluation whose inputs were all validated; nothing has trained yet.

    Attributes:
        config: The recipe and data settings (as for ``autoaug search``).
        modality: The modality of the data and the policies.
        files: Each evaluated policy's file, by label.
        evaluated: The evaluated policies, by label (file name without extension).
        baselines: The baseline policies, by name.
        seeds: Fine-tuning seeds.
        task: The data; the configuration's seed fixed its split, as in the search.
        backbone: The pre-trained weights every fine-tune starts from.
    """

    config: SearchConfig
    modality: Modality
    files: dict[str, Path]
    evaluated: dict[str, Policy]
    baselines: dict[str, Policy]
    seeds: tuple[int, ...]
    task: Task
    backbone: Backbone


@dataclass(frozen=True)
class EvaluationOutcome:
    """What a finished evaluation printed, wrote and recorded.

    Attributes:
        table: The terminal table of held-out test accuracy, mean ± std, and each policy's gaps.
        record: What the JSON file holds: every fine-tune, the summaries, the comparisons, the recipe.
        run_id: The evaluation's MLflow run.
        stats: Each policy's test accuracy over the seeds (mean, std), evaluated policies first.
        comparisons: Each evaluated policy against each baseline.
    """

    table: str
    record: dict[str, Any]
    run_id: str
    stats: tuple[PolicyStats, ...]
    comparisons: tuple[Comparison, ...]


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
    modality = get_modality(config.data.modality)
    chosen = modality.select_baselines(baselines)
    files = _label_policies(policy_files, chosen)
    evaluated = {label: _read_policy_of(path, modality) for label, path in files.items()}
    checked_seeds = check_seeds(seeds)
    backbone = modality.resolve_backbone(config.model)
    task = modality.load_task(config.data, config.training.seed)
    check_store(config.store.tracking_uri, config.store.experiment)
    return PreparedEvaluation(config, modality, files, evaluated, chosen, checked_seeds, task, backbone)


def _read_policy_of(path: Path, modality: Modality) -> Policy:
    policy = read_policy(path)
    if policy.modality != modality.name:
        raise PolicyError(f"{path}: modality: a {policy.modality!r} policy cannot augment {modality.name} data")
    return policy


def _print_line(line: str) -> None:
    print(line, flush=True)


def _policy_entries(prepared: PreparedEvaluation, sources: dict[str, PolicySource]) -> dict[str, dict[str, Any]]:
    """Each evaluated policy's file, summary and source trial, for the JSON record."""
    entries = {}
    for label, policy in prepared.evaluated.items():
        source = sources.get(label)
        entries[label] = {
            "file": str(prepared.files[label]),
            "policy": describe(policy),
            "source_run_id": source.run_id if source else None,
            "source_search": source.search if source else None,
        }
    return entries


def _heading(prepared: PreparedEvaluation) -> str:
    config, task = prepared.config, prepared.task
    epochs = f"{config.training.epochs} epoch{'s' if config.training.epochs != 1 else ''}"
    return (
        f"Held-out target test accuracy ({task.name}: {len(task.test)} test images; {config.model.backbone}, {epochs} "
        f"on {len(task.train)} images), seeds {', '.join(map(str, prepared.seeds))}:"
    )


def run_evaluation(
    prepared: PreparedEvaluation, output_json: Path, plot: Path, echo: Callable[[str], None] | None = None
) -> EvaluationOutcome:
    """Fine-tune every policy under every seed, then write the JSON and the plot and close the MLflow run.

    Example:
        >>> run_evaluation(prepare_evaluation(load_config(), [Path("best_policy.json")], ["none"], [0, 1]),
        ...                Path("evaluation.json"), Path("evaluation.png"))  # doctest: +SKIP
    """
    echo = echo or _print_line
    config, seeds = prepared.config, prepared.seeds
    policies = {**prepared.evaluated, **prepared.baselines}
    store = config.store
    tracker = EvaluationTracker(store.tracking_uri, store.experiment, "evaluate-" + "+".join(prepared.evaluated))
    for line in tracker.close_abandoned():
        echo(line)
    sources = tracker.find_sources(prepared.evaluated)
    settings = config.settings(FINE_TUNE_GROUPS)
    params = {key: value for key, value in settings.items() if value is not None and key != "seed"}
    params.update(data_seed=config.training.seed, weights=prepared.backbone.source, seeds=" ".join(map(str, seeds)))
    tracker.start(params, policies, sources, prepared.modality.data_inputs(prepared.task, config.data, held_out=True))

    total = len(seeds) * len(policies)
    echo(
        f"evaluating {', '.join(prepared.evaluated)} against {', '.join(prepared.baselines) or 'no baseline'} "
        f"over seeds {', '.join(map(str, seeds))}: {total} fine-tunes of {config.model.backbone} "
        f"({prepared.backbone.source}), {len(prepared.task.train)} training / {len(prepared.task.test)} held-out "
        "test images"
    )
    for label, source in sources.items():
        echo(source.line(label))
    done: list[SeedResult] = []

    def progress(result: SeedResult) -> None:
        done.append(result)
        tracker.log_result(result)
        echo(
            f"[{len(done):>3}/{total}] seed {result.seed:<3} {result.policy:<28} test_accuracy "
            f"{result.test_accuracy:.3f}  val_accuracy {result.val_accuracy:.3f}  ({result.seconds:.0f}s)"
        )

    started = time.time()
    try:
        # The search's recipe, threads included: oversubscribed intra-op threads slow training many times over.
        results = repeat_fine_tunes(
            prepared.modality, prepared.task, prepared.backbone, policies, seeds, config.recipe, on_result=progress
        )
    except KeyboardInterrupt:
        tracker.stop("KILLED", "interrupted (Ctrl-C or SIGTERM); the fine-tunes logged before are kept")
        raise
    except BaseException as exc:
        tracker.stop("FAILED", f"{type(exc).__name__}: {exc}")
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
        "mlflow": {"tracking_uri": tracker.tracking_uri, "experiment": store.experiment, "run_id": tracker.run_id},
    }
    record = report.to_record(results, stats, compared, context)
    record_json = json.dumps(record, indent=2) + "\n"
    output_json.parent.mkdir(parents=True, exist_ok=True)
    output_json.write_text(record_json, encoding="utf-8")
    title = f"{prepared.task.name}: held-out target test accuracy, mean ± std over {len(seeds)} seeds"
    report.plot(stats, list(prepared.evaluated), plot, title)
    tracker.finish(stats, compared, table, record_json, plot)
    return EvaluationOutcome(table, record, tracker.run_id, tuple(stats), tuple(compared))
