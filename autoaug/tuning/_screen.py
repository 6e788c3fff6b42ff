"""Zero-training screening: score many candidate policies against the reference, enqueue the best.

Fast AutoAugment's density-matching idea: a policy's affinity needs only the reference model, so
candidates drawn from the search space are scored in seconds each on Ray workers. The best-scored
candidates are enqueued into the Optuna study, so they become ordinary searched trials (tracked,
ranked, told to the sampler) that run before the sampler's own proposals.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import ray

from autoaug.config import Recipe, SearchConfig
from autoaug.modalities import Backbone, Modality, Reference, Task
from autoaug.ops import Op
from autoaug.policy import Policy, headline
from autoaug.records import SearchTracker
from autoaug.progress import SCREEN, Progress
from autoaug.tuning._reference_stage import gather
from autoaug.tuning._shipping import ensure_ops
from autoaug.tuning._space import SearchSpace
from autoaug.vocabulary import (
    AFFINITY,
    FEATURE_DIVERSITY,
    FEATURE_RELEVANCE,
    REFERENCE_LOSS_RATIO,
    SCREEN_RANK,
    SCREEN_SCORE,
)

_COLUMNS = (SCREEN_SCORE, AFFINITY, REFERENCE_LOSS_RATIO, FEATURE_RELEVANCE, FEATURE_DIVERSITY)


@dataclass(frozen=True)
class Candidate:
    """One screened policy: the search-space parameters that give it and its measures (or why none)."""

    params: dict[str, Any]
    policy: Policy
    measures: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def score(self) -> float:
        """The screen score; -inf when the policy could not be measured (it is never enqueued)."""
        return self.measures.get(SCREEN_SCORE, -math.inf)


def draw_candidates(space: SearchSpace, count: int, seed: int) -> list[Candidate]:
    """``count`` policies drawn at random from ``space`` (with the parameters Optuna can enqueue)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # this throwaway study is no news to the user
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    finally:
        optuna.logging.set_verbosity(verbosity)
    candidates = []
    for _ in range(count):
        trial = study.ask()
        policy = space.suggest(trial)
        candidates.append(Candidate(dict(trial.params), policy))
    return candidates


def measure_policies(
    modality: Modality, reference: Reference, task: Task, backbone: Backbone, policies: list[Policy], recipe: Recipe
) -> list[dict[str, float] | str]:
    """Each policy's measures against ``reference``; a policy that raises gives its error message instead."""
    measure = modality.meter(reference, task, backbone, recipe)
    results: list[dict[str, float] | str] = []
    for policy in policies:
        try:
            results.append(measure(policy))
        except Exception as exc:  # a user's op may raise anything: report it with the candidate
            results.append(f"{type(exc).__name__}: {exc}")
    return results


def _measure_remote(
    policies: list[Policy],
    modality: Modality,
    reference: Reference,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    user_ops: tuple[Op, ...],
) -> list[dict[str, float] | str]:
    ensure_ops(user_ops)
    return measure_policies(modality, reference, task, backbone, policies, recipe)


def screen(
    candidates: list[Candidate],
    *,
    modality: Modality,
    reference: Reference,
    task: Task,
    backbone: Backbone,
    recipe: Recipe,
    user_ops: tuple[Op, ...],
    workers: int,
    resources: dict[str, float],
    progress: Progress | None = None,
) -> list[Candidate]:
    """Measure every candidate on up to ``workers`` Ray tasks; return them best-scored first."""
    shared = [ray.put(value) for value in (modality, reference, task, backbone, recipe, user_ops)]
    measure: Any = ray.remote(_measure_remote).options(num_cpus=resources["cpu"], num_gpus=resources["gpu"])
    chunks = [candidates[start::workers] for start in range(workers)]
    pending = [measure.remote([c.policy for c in chunk], *shared) for chunk in chunks if chunk]
    progress = progress or Progress()
    progress.stage_started(SCREEN, len(pending))
    try:
        results = gather(pending, progress, SCREEN)
    finally:
        progress.stage_finished(SCREEN)
    flat = [outcome for outcomes in results for outcome in outcomes]
    return rank_candidates([candidate for chunk in chunks for candidate in chunk], flat)


def rank_candidates(candidates: list[Candidate], outcomes: list[dict[str, float] | str]) -> list[Candidate]:
    """The candidates with their measures (or error message), best screen score first."""
    measured = [
        Candidate(c.params, c.policy, error=out) if isinstance(out, str) else Candidate(c.params, c.policy, out)
        for c, out in zip(candidates, outcomes, strict=True)
    ]
    return sorted(measured, key=lambda candidate: -candidate.score)


def enqueue_best(study: optuna.Study, ranked: list[Candidate], count: int) -> int:
    """Enqueue the first ``count`` measurable candidates of ``ranked`` into ``study``; returns how many."""
    best = [candidate for candidate in ranked if not candidate.error][:count]
    for rank, candidate in enumerate(best, start=1):
        study.enqueue_trial(candidate.params, user_attrs={SCREEN_RANK: rank, SCREEN_SCORE: candidate.score})
    return len(best)


def screen_csv(ranked: list[Candidate], enqueued: int) -> str:
    """The screen as CSV, best first: rank, whether it was fine-tuned, measures, policy, error."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rank", "enqueued", *_COLUMNS, "policy", "error"])
    for rank, candidate in enumerate(ranked, start=1):
        values = [candidate.measures.get(name, "") for name in _COLUMNS]
        enqueued_here = "yes" if rank <= enqueued and not candidate.error else "no"
        writer.writerow([rank, enqueued_here, *values, headline(candidate.policy), candidate.error])
    return buffer.getvalue()


def run_screen(
    config: SearchConfig,
    space: SearchSpace,
    modality: Modality,
    task: Task,
    backbone: Backbone,
    reference: Reference,
    user_ops: tuple[Op, ...],
    *,
    study: optuna.Study,
    tracker: SearchTracker,
    echo: Callable[[str], None],
    progress: Progress,
) -> list[Candidate]:
    """Screen ``config.search.screen`` candidates, enqueue the best ``screen_top`` (at most ``trials``).

    ``screen.csv`` and the screen's cost go on the parent run. Returns the candidates, best first.
    """
    started = time.time()
    settings = config.search
    ranked = screen(
        draw_candidates(space, settings.screen, config.training.seed),
        modality=modality,
        reference=reference,
        task=task,
        backbone=backbone,
        recipe=config.recipe,
        user_ops=user_ops,
        workers=config.cluster.concurrency,
        resources=config.resources,
        progress=progress,
    )
    enqueued = enqueue_best(study, ranked, min(settings.screen_top, settings.trials))
    seconds = time.time() - started
    tracker.log_search_text(screen_csv(ranked, enqueued), "screen.csv")
    tracker.log_search_metrics(
        {"screen_candidates": len(ranked), "screen_enqueued": enqueued, "screen_seconds": seconds}
    )
    failed = sum(bool(candidate.error) for candidate in ranked)
    echo(
        f"screened {len(ranked)} candidate policies without training in {seconds:.0f}s "
        f"({failed} could not be measured); the best {enqueued} are fine-tuned first "
        f"(screen_score {ranked[0].score:.3f} down to {ranked[max(enqueued - 1, 0)].score:.3f})"
    )
    return ranked
