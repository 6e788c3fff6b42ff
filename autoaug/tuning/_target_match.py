"""Target matching in a search: the chain of ops closest to the target domain, proposed to the sampler first.

The modality measures, without training, how far each op of the space moves the training inputs
towards the clean target inputs and chains the ops that close the gap
(:meth:`~autoaug.modalities.Modality.measure_singles`, :meth:`~autoaug.modalities.Modality.match_target`).
Here that runs on Ray workers after the reference, and the chain is enqueued into the Optuna study at
:data:`PROBABILITIES` (on no baseline), so it is fine-tuned first as ordinary searched trials: tracked,
ranked, told to the sampler and confirmed like any other; the sampler then draws its extra ops from the
ops that came closest to the target alone (:attr:`~autoaug.modalities.TargetMatch.closest_ops`). A
modality that does not match targets, a space that cannot hold the chain, or a chain that closes
nothing adds no trial and leaves the space whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import ray

from autoaug.config import Recipe, SearchConfig
from autoaug.modalities import Backbone, Modality, Reference, TargetMatch, Task
from autoaug.ops import Op
from autoaug.progress import TARGET_MATCH, Progress
from autoaug.records import SearchTracker
from autoaug.tuning._reference_stage import gather
from autoaug.tuning._searcher import PolicySearcher
from autoaug.tuning._shipping import ensure_ops
from autoaug.tuning._space import BASE_PARAM, EXTRA_OPS_PARAM, SearchSpace
from autoaug.vocabulary import TARGET_MATCH_ATTR

PROBABILITIES = (0.5, 0.8)
"""Probabilities the chain's ops are proposed at: inputs keep some clean examples beside matched ones."""
ARTIFACT = "target_match.json"


def _singles(
    modality: Modality, ops: list[str], magnitude_range: tuple[float, float], reference: Reference, task: Task,
    backbone: Backbone, recipe: Recipe, user_ops: tuple[Op, ...],
) -> list[tuple[str, float, float]]:
    ensure_ops(user_ops)
    return modality.measure_singles(reference, task, backbone, recipe, ops, magnitude_range)


def _chain(
    modality: Modality, singles: list[tuple[str, float, float]], max_ops: int, reference: Reference, task: Task,
    backbone: Backbone, recipe: Recipe, user_ops: tuple[Op, ...],
) -> TargetMatch:
    ensure_ops(user_ops)
    return modality.match_target(reference, task, backbone, recipe, singles, max_ops)


def proposal_params(space: SearchSpace, match: TargetMatch, probability: float) -> dict[str, Any]:
    """The stacked space's parameters of the chain on no baseline, each op at ``probability`` (clipped to the space).

    Example:
        >>> match = TargetMatch((("zoom_in", 1.0),), clean=0.8, floor=0.1, matched=0.6, singles=())
        >>> proposal_params(load_space("default"), match, 0.5)  # doctest: +SKIP
        {'base': 'none', 'extra_ops': 1, 'extra0': 'zoom_in', 'extra0.p': 0.5, 'extra0.m': 1.0}
    """
    low, high = space.probability
    params: dict[str, Any] = {BASE_PARAM: "none", EXTRA_OPS_PARAM: len(match.chain)}
    for index, (name, magnitude) in enumerate(match.chain):
        params.update({f"extra{index}": name, f"extra{index}.p": min(max(probability, low), high)})
        params[f"extra{index}.m"] = magnitude
    return params


def why_unfit(space: SearchSpace, modality: Modality) -> str:
    """Why ``modality`` cannot match targets or ``space`` cannot hold a chain on no baseline ('' when both can)."""
    if not modality.matches_targets:
        return f"the {modality.name} modality does not match targets"
    if space.structure != "stacked":
        return f"the space's structure is {space.structure!r}, not 'stacked'"
    if "none" not in space.bases:
        return "the space has no 'none' base"
    if space.extra_ops[1] < 1:
        return "the space allows no extra op"
    return ""


def run_target_match(
    config: SearchConfig,
    space: SearchSpace,
    modality: Modality,
    task: Task,
    backbone: Backbone,
    reference: Reference,
    user_ops: tuple[Op, ...],
    *,
    searcher: PolicySearcher,
    tracker: SearchTracker,
    echo: Callable[[str], None],
    progress: Progress,
) -> TargetMatch | None:
    """Find the chain on up to ``config.cluster.concurrency`` Ray tasks, enqueue it, narrow the searcher's ops, record it all.

    Returns:
        The match, or None when the modality or the space cannot match targets.
    """
    reason = why_unfit(space, modality)
    if reason:
        echo(f"target matching skipped: {reason}")
        return None
    started = time.time()
    workers, resources = config.cluster.concurrency, config.resources
    shared = [ray.put(value) for value in (reference, task, backbone, config.recipe, user_ops)]
    options = {"num_cpus": resources["cpu"], "num_gpus": resources["gpu"]}
    singles_task: Any = ray.remote(_singles).options(**options)
    chain_task: Any = ray.remote(_chain).options(**options)
    ops = list(space.ops)
    progress.stage_started(TARGET_MATCH, workers + 1)  # the measuring tasks, then the chain
    try:
        parts = gather(
            [singles_task.remote(modality, ops[i::workers], space.magnitude, *shared) for i in range(workers)],
            progress, TARGET_MATCH,
        )
        singles = [entry for part in parts for entry in part]
        chain = chain_task.remote(modality, singles, space.extra_ops[1], *shared)
        match: TargetMatch = gather([chain], progress, TARGET_MATCH, done_before=workers)[0]
    finally:
        progress.stage_finished(TARGET_MATCH)
    seconds = time.time() - started
    pool = list(space.ops)
    if match.chain and len(match.chain) >= space.extra_ops[0]:
        for probability in PROBABILITIES:
            searcher.study.enqueue_trial(
                proposal_params(space, match, probability), user_attrs={TARGET_MATCH_ATTR: probability}
            )
        searcher.narrow(match.closest_ops)
        pool = list(searcher.space.ops)
        found = ", ".join(f"{name} m{magnitude:.2f}" for name, magnitude in match.chain)
        echo(
            f"target matching: {found} brings the training inputs {match.gain:.0%} closer to the target "
            f"(feature_relevance {match.clean:.3f} -> {match.matched:.3f}, target halves {match.floor:.3f}; "
            f"{seconds:.0f}s); proposed first at p = {', '.join(map(str, PROBABILITIES))}; the sampler draws its "
            f"ops from the {len(pool)} closest: {', '.join(pool)}"
        )
    else:
        echo(f"target matching: no op brings the training inputs closer to the target ({seconds:.0f}s); nothing proposed")
    record = {
        "chain": [list(step) for step in match.chain],
        "clean": match.clean,
        "floor": match.floor,
        "matched": match.matched,
        "gain": match.gain,
        "singles": [list(entry) for entry in match.singles],
        "pool": pool,
        "seconds": seconds,
    }
    tracker.log_search_text(json.dumps(record, indent=1), ARTIFACT)
    tracker.log_search_metrics({"target_match_gain": match.gain, "target_match_seconds": seconds})
    return match
