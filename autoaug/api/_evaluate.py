"""``evaluate``: fine-tunes under policy files and the baselines over several seeds, scored on held-out test data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoaug.api._search import resolve_config
from autoaug.config import SearchConfig
from autoaug.modalities import get_modality
from autoaug.results import evaluation_seeds

if TYPE_CHECKING:
    from autoaug.evaluation import EvaluationOutcome


def evaluate(
    policies: str | Path | Sequence[str | Path],
    baselines: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    repeats: int | None = None,
    config: SearchConfig | str | Path | None = None,
    output_json: str | Path = "evaluation.json",
    plot: str | Path = "evaluation.png",
    echo: Callable[[str], None] | None = None,
    **overrides: Any,
) -> EvaluationOutcome:
    """Prove policies: fine-tune under each and under the baselines over several seeds, as ``autoaug evaluate``.

    Each fine-tune follows the search's recipe; held-out target test accuracy is reported as mean ± std per
    policy, written as JSON and a plot, and recorded as one MLflow run.

    Args:
        policies: Policy JSON files (``autoaug.export`` writes them); each is labelled by its file name without
            ``.json``.
        baselines: The baselines to compare with (default: all of the modality's; ``[]`` for none).
        seeds: Fine-tuning seeds, at least 2 (default: the ``repeats`` seeds after the configuration's ``seed``,
            which a search trains with).
        repeats: How many seeds after ``seed`` (default 3), when ``seeds`` is not given.
        config: A :class:`~autoaug.config.SearchConfig`, a YAML configuration file, or None (the defaults).
        output_json: The JSON record to write.
        plot: The plot to write.
        echo: Receives each fine-tune's line instead of stdout.
        **overrides: Settings by the names of the command line's flags (``backbone="test_resnet"``, ``epochs=1``,
            ``train_size=200``, ``tracking_uri=...``); they override ``config``.

    Returns:
        The table, each policy's summary (``stats``), the comparisons and the MLflow run id.

    Raises:
        AutoaugError: A policy file, baseline, seed, the backbone, the data or the store is wrong (checked before
            anything trains).

    Example:
        >>> outcome = autoaug.evaluate("best_policy.json", baselines=["rand_augment"], seeds=[1, 2])  # doctest: +SKIP
        >>> print(outcome.table)  # doctest: +SKIP
    """
    from autoaug.evaluation import prepare_evaluation, run_evaluation  # here: MLflow loads when an evaluation runs

    settings = resolve_config(config, overrides)
    files = [Path(policies)] if isinstance(policies, (str, Path)) else [Path(path) for path in policies]
    chosen = list(get_modality(settings.data.modality).baselines()) if baselines is None else list(baselines)
    prepared = prepare_evaluation(settings, files, chosen, evaluation_seeds(seeds, repeats, settings.training.seed))
    return run_evaluation(prepared, Path(output_json), Path(plot), echo)
