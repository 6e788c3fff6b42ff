"""What each figure shows, read back from the matplotlib objects (no store needed)."""

from __future__ import annotations

from matplotlib.figure import Figure
from PIL import Image

from autoaug.results import TrialRow
from autoaug.results.figures import accuracy_over_trials_figure, affinity_diversity_figure, samples_figure


def row(name: str, outcome: str, accuracy: float | None, affinity: float | None = None,
        diversity: float | None = None, baseline: str | None = None, start: int = 0) -> TrialRow:
    values = {"val_accuracy": accuracy, "affinity": affinity, "diversity": diversity}
    metrics = {key: value for key, value in values.items() if value is not None}
    return TrialRow(f"id-{name}", name, outcome, baseline, metrics, "rotate p0.50", start_time=start)


ROWS = [
    row("baseline-none", "completed", 0.40, 1.0, 1.0, baseline="none", start=1),
    row("trial-000", "completed", 0.58, 0.9, 1.6, start=2),
    row("trial-001", "completed", 0.50, 0.6, 2.2, start=3),
    row("trial-002", "pruned", 0.30, 0.95, 2.5, start=4),
    row("trial-003", "failed", None, start=5),
]


def texts(figure: Figure) -> list[str]:
    ax = figure.axes[0]
    legend = ax.get_legend()
    return [t.get_text() for t in ax.texts] + ([t.get_text() for t in legend.get_texts()] if legend else [])


def test_scatter_marks_the_front_the_knee_the_baselines_and_pruned_trials() -> None:
    figure = affinity_diversity_figure(ROWS, "demo")
    shown = texts(figure)
    assert "Pareto front (3 trials)" in shown
    assert "knee pick: trial-000 (val acc 0.580)" in shown
    assert "baseline none" in shown
    assert any(text.startswith("pruned") for text in shown)
    assert figure.axes[0].get_title() == "Relevance vs diversity: demo"
    assert "higher = closer to the target domain" in figure.axes[0].get_xlabel()
    assert figure.axes[1].get_ylabel() == "target val accuracy (higher = better)"  # the colour bar


def test_scatter_without_measures_says_so() -> None:
    old = [row("trial-000", "completed", 0.5)]
    assert any("No completed trial recorded affinity and diversity" in text for text in texts(affinity_diversity_figure(old)))


def test_accuracy_plot_shows_best_so_far_baselines_pruned_and_failed() -> None:
    figure = accuracy_over_trials_figure(list(reversed(ROWS)))
    shown = texts(figure)
    assert {"baseline none: 0.400", "best so far (completed)", "completed", "failed"} <= set(shown)
    assert "pruned (accuracy when stopped)" in shown
    ax = figure.axes[0]
    assert ax.get_xlim() == (0.5, 5.5)
    best = next(line for line in ax.get_lines() if line.get_label() == "best so far (completed)")
    assert list(best.get_xdata()) == [1, 2, 3, 5] and list(best.get_ydata()) == [0.40, 0.58, 0.58, 0.58]


def test_samples_figure_titles_the_grid_or_says_why_there_is_none() -> None:
    grid = Image.new("RGB", (300, 100), "white")
    figure = samples_figure(ROWS[1], grid)
    assert figure.axes[0].get_title().startswith("Best policy: trial-000, target val accuracy 0.580")
    assert any("recorded no sample grid" in text for text in texts(samples_figure(ROWS[1], None)))
