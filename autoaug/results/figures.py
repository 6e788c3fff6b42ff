"""The pictures of a search, drawn from its trial rows with matplotlib (Agg, no pyplot state).

Each function returns a :class:`~matplotlib.figure.Figure`; :func:`write_plots` saves all three.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from autoaug.results._rows import TrialRow
from autoaug.results._tradeoff import candidates, knee, measured, pareto_front

AFFINITY_DIVERSITY = "affinity_diversity.png"
ACCURACY_OVER_TRIALS = "accuracy_over_trials.png"
BEST_POLICY_SAMPLES = "best_policy_samples.png"
PLOT_FILES = (AFFINITY_DIVERSITY, ACCURACY_OVER_TRIALS, BEST_POLICY_SAMPLES)
_DPI = 120
_BASELINE_COLOURS = ("tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive")


def _figure(width: float = 8.0, height: float = 6.0) -> Figure:
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])


def _label(row: TrialRow) -> str:
    return f"baseline {row.baseline}" if row.baseline else row.name


def affinity_diversity_figure(rows: list[TrialRow], title: str = "") -> Figure:
    """Affinity against diversity per trial, coloured by target-validation accuracy.

    The Pareto front is drawn as a line through its points, baselines are labelled, the knee pick
    is starred, and pruned trials that recorded the measures appear as grey crosses.
    """
    figure = _figure()
    ax = figure.add_subplot()
    ax.set_title(f"Relevance vs diversity{': ' + title if title else ''}")
    points = candidates(rows)
    if not points:
        _note(ax, "No completed trial recorded affinity and diversity.\n"
                  "Searches from before these measures were added lack them:\nrun a new search to see this plot.")
        return figure
    pruned = [row for row in rows if row.outcome == "pruned" and measured(row)]
    if pruned:
        ax.scatter([r.metrics["affinity"] for r in pruned], [r.metrics["diversity"] for r in pruned],
                   marker="x", color="0.6", label="pruned (stopped early; not on the front)", zorder=2)
    # A grey stand-in for the legend: the real markers take each trial's accuracy colour.
    ax.scatter([], [], color="0.8", s=60, edgecolors="black", linewidths=0.5,
               label="completed trial (colour: val accuracy)")
    accuracy = [row.score for row in points]
    scatter = ax.scatter([r.metrics["affinity"] for r in points], [r.metrics["diversity"] for r in points],
                         c=accuracy, cmap="viridis", s=60, edgecolors="black", linewidths=0.5, zorder=3)
    figure.colorbar(scatter, ax=ax, pad=0.01, fraction=0.05, label="target val accuracy (higher = better)")
    front = pareto_front(rows)
    ax.plot([r.metrics["affinity"] for r in front], [r.metrics["diversity"] for r in front], "-o",
            color="crimson", markerfacecolor="none", markersize=13, linewidth=1.5, zorder=4,
            label=f"Pareto front ({len(front)} trials)")
    chosen = knee(front)
    ax.scatter([chosen.metrics["affinity"]], [chosen.metrics["diversity"]], marker="*", s=380, color="gold",
               edgecolors="black", zorder=5, label=f"knee pick: {chosen.name} (val acc {chosen.score:.3f})")
    for row in points:
        if row.baseline:
            ax.annotate(_label(row), (row.metrics["affinity"], row.metrics["diversity"]), xytext=(6, 6),
                        textcoords="offset points", fontsize=9, zorder=6)
    ax.set_xlabel("affinity: accuracy of the clean reference on augmented / clean target val\n"
                  "(higher = closer to the target domain, 1 = no shift) →")
    ax.set_ylabel("diversity: final training loss / reference loss\n(higher = more varied training data) →")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return figure


def _baseline_lines(ax: Axes, rows: list[TrialRow]) -> None:
    baselines = [row for row in rows if row.baseline and row.outcome == "completed"]
    for colour, row in zip(_BASELINE_COLOURS * 3, baselines):
        ax.axhline(row.score, color=colour, linestyle="--", linewidth=1.2,
                   label=f"baseline {row.baseline}: {row.score:.3f}")


def accuracy_over_trials_figure(rows: list[TrialRow], title: str = "") -> Figure:
    """Target-validation accuracy of each trial in start order, with the best so far and the baselines.

    Pruned trials show the accuracy they had when stopped; failed ones sit on the bottom edge.
    """
    figure = _figure(9.0, 5.5)
    ax = figure.add_subplot()
    ax.set_title(f"Target val accuracy per trial{': ' + title if title else ''}")
    ordered = sorted(rows, key=lambda row: (row.start_time, row.name))
    if not ordered:
        _note(ax, "This search has no trials yet.")
        return figure
    order = {row.run_id: index for index, row in enumerate(ordered, start=1)}
    completed = [row for row in ordered if row.outcome == "completed"]
    pruned = [row for row in ordered if row.outcome == "pruned" and math.isfinite(row.score)]
    failed = [row for row in ordered if row.outcome == "failed"]
    _baseline_lines(ax, ordered)
    if completed:
        x = [order[row.run_id] for row in completed]
        best = list(np.maximum.accumulate([row.score for row in completed]))
        x, best = x + [len(ordered)], best + best[-1:]  # the best so far holds to the last trial
        ax.step(x, best, where="post", color="black", linewidth=1.8, label="best so far (completed)")
        ax.scatter(x[:-1], [row.score for row in completed], color="tab:blue", s=40, zorder=3, label="completed")
    if pruned:
        ax.scatter([order[row.run_id] for row in pruned], [row.score for row in pruned], marker="v",
                   color="0.55", s=40, zorder=3, label="pruned (accuracy when stopped)")
    if failed:
        # On the bottom edge whatever the y range: a failed trial has no accuracy to place it by.
        ax.scatter([order[row.run_id] for row in failed], [0.02] * len(failed), marker="X", color="crimson",
                   s=60, zorder=3, transform=ax.get_xaxis_transform(), clip_on=False, label="failed")
    ax.set_xlabel("trial, in start order (baselines first)")
    ax.set_ylabel("target val accuracy (higher = better) →")
    ax.set_xlim(0.5, len(ordered) + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return figure


def samples_figure(row: TrialRow | None, grid: Image.Image | None) -> Figure:
    """The best trial's grid of augmented samples, titled with its name, accuracy and policy."""
    width = 10.0 if grid is None else min(14.0, max(6.0, grid.width / 70))
    height = 3.0 if grid is None else width * grid.height / grid.width + 1.0
    figure = _figure(width, height)
    ax = figure.add_subplot()
    if row is None or grid is None:
        ax.set_title("Best policy: augmented samples")
        _note(ax, "No completed trial with a sample grid." if row is None else
                  f"{row.name} recorded no sample grid (its policy raised while drawing samples).")
        return figure
    policy = row.policy if len(row.policy) <= 110 else row.policy[:107] + "..."
    ax.set_title(f"Best policy: {_label(row)}, target val accuracy {row.score:.3f}\n{policy}", fontsize=10)
    ax.imshow(np.asarray(grid.convert("RGB")), interpolation="nearest")
    ax.set_xlabel("left column: original training image; the others: independent draws of the policy")
    ax.set_xticks([])
    ax.set_yticks([])
    return figure


def write_plots(
    rows: list[TrialRow], best: TrialRow | None, samples: Image.Image | None, folder: Path, title: str = ""
) -> list[Path]:
    """Save the three figures as :data:`PLOT_FILES` in ``folder`` and return their paths.

    Example:
        >>> write_plots(rows, best_row(rows), grid, Path("plots"), title="digits-v1")  # doctest: +SKIP
    """
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        AFFINITY_DIVERSITY: affinity_diversity_figure(rows, title),
        ACCURACY_OVER_TRIALS: accuracy_over_trials_figure(rows, title),
        BEST_POLICY_SAMPLES: samples_figure(best, samples),
    }
    paths = []
    for name, figure in figures.items():
        figure.savefig(folder / name)
        paths.append(folder / name)
    return paths
