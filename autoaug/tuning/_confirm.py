"""The confirmation stage: the top searched policies and every baseline fine-tuned again on fresh seeds.

Racing in its simplest form (as in SMAC's intensification and irace): after the search, the
``confirm_top`` best searched trials and the baselines are fine-tuned on ``confirm_seeds`` seeds
that no trial used, all on the same seeds (paired), as Ray tasks. :func:`autoaug.results.select`
then decides on their target-validation accuracy. Every repeat is an MLflow run nested under the
trial it repeats; the decision lands on the parent run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ray

from autoaug.config import Recipe
from autoaug.modalities import Backbone, Modality, Task, fine_tune_once
from autoaug.ops import Op
from autoaug.policy import Policy
from autoaug.progress import CONFIRMATION, Progress
from autoaug.records import SearchTracker
from autoaug.results import SeedResult, Selection, TrialRow, select
from autoaug.tuning._reference_stage import remote_error
from autoaug.tuning._shipping import ensure_ops

SEED_OFFSET = 1000
"""Confirmation seeds are ``seed + 1000``, ``seed + 1001``, ...: apart from the search's own seed and from
the seeds ``autoaug evaluate`` takes by default (``seed + 1``, ``seed + 2``, ...)."""


def confirmation_seeds(seed: int, count: int) -> tuple[int, ...]:
    """The ``count`` fresh seeds of a search with seed ``seed``.

    Example:
        >>> confirmation_seeds(0, 3)
        (1000, 1001, 1002)
    """
    return tuple(seed + SEED_OFFSET + i for i in range(count))


def confirmation_rows(rows: list[TrialRow], top: int) -> tuple[list[TrialRow], list[TrialRow]]:
    """The completed baselines and the ``top`` best completed searched trials that are not a baseline again.

    A searched trial whose policy is a baseline's (a point of the space with no extra op) or repeats a
    better searched trial's is skipped: confirming it twice would tell nothing new.
    """
    baselines = [row for row in rows if row.baseline and row.outcome == "completed"]
    seen = {row.policy for row in baselines}
    searched = sorted(
        (row for row in rows if not row.baseline and row.outcome == "completed"), key=lambda row: (-row.score, row.name)
    )
    candidates = []
    for row in searched:
        if len(candidates) < top and row.policy not in seen:
            candidates.append(row)
            seen.add(row.policy)
    return baselines, candidates


def _fine_tune(
    modality: Modality, task: Task, backbone: Backbone, label: str, policy_json: str, seed: int, recipe: Recipe,
    user_ops: tuple[Op, ...],
) -> SeedResult:
    ensure_ops(user_ops)
    return fine_tune_once(modality, task, backbone, label, Policy.from_json(policy_json, source=label), seed, recipe)


def run_confirmation(
    tracker: SearchTracker,
    rows: list[TrialRow],
    *,
    modality: Modality,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    resources: dict[str, float],
    user_ops: tuple[Op, ...],
    seeds: tuple[int, ...],
    top: int,
    echo: Callable[[str], None],
    progress: Progress,
) -> Selection | None:
    """Fine-tune the candidates and baselines on ``seeds``, record every repeat, and decide.

    Returns:
        The decision, or None when no baseline completed (nothing to compare with).
    """
    baselines, candidates = confirmation_rows(rows, top)
    if not baselines or not seeds:
        return None
    chosen = [*candidates, *baselines]
    policies = {row.name: tracker.trial_policy(row.run_id) for row in chosen}
    total = len(seeds) * len(chosen)
    echo(
        f"confirmation: {len(candidates)} searched polic{'y' if len(candidates) == 1 else 'ies'} and "
        f"{len(baselines)} baselines on fresh seeds {', '.join(map(str, seeds))} ({total} fine-tunes)"
    )
    modality_ref, task_ref, backbone_ref = ray.put(modality), ray.put(task), ray.put(backbone)
    remote: Any = ray.remote(_fine_tune).options(num_cpus=resources["cpu"], num_gpus=resources["gpu"])
    pending = {
        remote.remote(modality_ref, task_ref, backbone_ref, row.name, policies[row.name].to_json(), seed, recipe,
                      user_ops): row
        for seed in seeds
        for row in chosen
    }
    started = time.time()
    scores: dict[str, dict[int, float]] = {row.name: {} for row in chosen}
    progress.stage_started(CONFIRMATION, total)
    try:
        while pending:
            # A bounded wait returns to Python every second, so Ctrl-C and SIGTERM stop the stage at once.
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            if not ready:
                continue
            [done] = ready
            row = pending.pop(done)
            try:
                result: SeedResult = ray.get(done)
            except ray.exceptions.RayTaskError as exc:
                raise remote_error(exc) from None
            scores[row.name][result.seed] = result.val_accuracy
            tracker.log_repeat(row.run_id, row.name, result)
            finished = total - len(pending)
            progress.stage_advanced(CONFIRMATION, finished)
            echo(
                f"[confirm {finished:>3}/{total}] seed {result.seed:<5} {row.name:<32} val_accuracy "
                f"{result.val_accuracy:.3f}  ({result.seconds:.0f}s)"
            )
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        progress.stage_finished(CONFIRMATION)
    selection = select(scores, [row.name for row in baselines], [row.name for row in candidates])
    tracker.log_selection(selection, {row.name: row.run_id for row in chosen}, scores, time.time() - started)
    return selection
