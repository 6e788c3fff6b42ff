"""An evaluation's results for people: the terminal table, the plot and the JSON record."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

from autoaug.results import Comparison, PolicyStats, SeedResult, compare  # noqa: E402
from autoaug.vocabulary import TEST_ACCURACY, VAL_ACCURACY  # noqa: E402

__all__ = ["FORMAT", "comparisons", "format_table", "plot", "to_record"]

FORMAT = "autoaug-evaluation"
_VERSION = 1


def comparisons(stats: Sequence[PolicyStats], evaluated: Sequence[str]) -> list[Comparison]:
    """Every evaluated policy against every other policy in ``stats`` (the baselines)."""
    by_label = {s.policy: s for s in stats}
    return [
        compare(by_label[label], other)
        for label in evaluated
        if label in by_label
        for other in stats
        if other.policy not in evaluated
    ]


def _std(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value:.3f}"


def format_table(stats: Sequence[PolicyStats], compared: Sequence[Comparison], heading: str) -> str:
    """Mean ± std and per-seed test accuracy per policy, then each evaluated policy's gap to each baseline.

    Example:
        >>> print(format_table(summarise(results), comparisons(stats, ["best_policy"]), "digits"))  # doctest: +SKIP
    """
    seeds = sorted({seed for s in stats for seed in s.seeds})
    width = max([len("policy"), *(len(s.policy) for s in stats)])
    header = f"{'policy':<{width}}  {'mean ± std':>13}  " + "  ".join(f"{'seed ' + str(seed):>7}" for seed in seeds)
    lines = [heading, header, "-" * len(header)]
    for s in sorted(stats, key=lambda s: -s.mean):
        per_seed = dict(zip(s.seeds, s.values, strict=True))
        cells = "  ".join(f"{per_seed[seed]:>7.3f}" if seed in per_seed else f"{'-':>7}" for seed in seeds)
        lines.append(f"{s.policy:<{width}}  {s.mean:.3f} ± {_std(s.std)}  {cells}")
    for label in dict.fromkeys(c.policy for c in compared):
        lines += ["", f"{label} against each baseline (clear: the gap exceeds the larger of the two stds):"]
        for c in (c for c in compared if c.policy == label):
            verdict = "clear" if c.clear else "not clear"
            lines.append(f"  vs {c.baseline:<{width}}  gap {c.gap:+.3f}  std {_std(c.std)}  {verdict}")
    return "\n".join(lines)


def plot(stats: Sequence[PolicyStats], evaluated: Sequence[str], path: Path, title: str) -> Path:
    """A PNG: one dot per seed and the mean ± one std per policy, evaluated policies highlighted."""
    ordered = sorted(stats, key=lambda s: -s.mean)
    figure, axes = plt.subplots(figsize=(1.3 * len(ordered) + 2.5, 4.2), dpi=110)
    try:
        for x, s in enumerate(ordered):
            color = "tab:orange" if s.policy in evaluated else "tab:blue"
            std = 0.0 if math.isnan(s.std) else s.std
            axes.errorbar(x, s.mean, yerr=std, fmt="s", color=color, capsize=8, markersize=8, zorder=3)
            offsets = [0.12 * (i - (len(s.values) - 1) / 2) for i in range(len(s.values))]
            axes.scatter([x + o for o in offsets], s.values, color=color, alpha=0.45, s=18, zorder=2)
        axes.errorbar([], [], yerr=[], fmt="s", color="tab:orange", capsize=8, label="evaluated: mean ± std")
        axes.errorbar([], [], yerr=[], fmt="s", color="tab:blue", capsize=8, label="baseline: mean ± std")
        axes.scatter([], [], color="gray", alpha=0.45, s=18, label="one seed")
        axes.legend(loc="best", fontsize=8)
        axes.set_xticks(range(len(ordered)), [s.policy for s in ordered], rotation=20, ha="right")
        axes.set_ylabel("held-out target test accuracy")
        axes.set_title(title, fontsize=10)
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def to_record(
    results: Sequence[SeedResult],
    stats: Sequence[PolicyStats],
    compared: Sequence[Comparison],
    context: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured, as plain JSON-ready data (``context`` adds the recipe, policies and sources)."""
    return {
        "format": FORMAT,
        "version": _VERSION,
        **context,
        TEST_ACCURACY: {
            s.policy: {"mean": _number(s.mean), "std": _number(s.std), "per_seed": dict(zip(map(str, s.seeds), s.values))}
            for s in stats
        },
        "comparisons": [
            {"policy": c.policy, "baseline": c.baseline, "gap": _number(c.gap), "std": _number(c.std), "clear": c.clear}
            for c in compared
        ],
        "runs": [
            {
                "policy": r.policy,
                "seed": r.seed,
                TEST_ACCURACY: r.test_accuracy,
                VAL_ACCURACY: r.val_accuracy,
                "train_loss": round(r.train_loss, 6),
                "seconds": round(r.seconds, 1),
            }
            for r in results
        ],
    }
