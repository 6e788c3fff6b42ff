"""Optuna's own views of a search's study: parameter importances and parallel coordinates, as PNG files.

They complement the trade-off plots (``results.figures``): those rank policies, these show which choices of the
space mattered. Each is drawn from the study alone, so ``autoaug plots`` can redraw them from the stored study.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import matplotlib
import optuna
from optuna.visualization import matplotlib as optuna_plots

from autoaug.errors import ConfigError
from autoaug.tuning._study import stored_studies
from autoaug.vocabulary import VAL_ACCURACY

logger = logging.getLogger("autoaug.plots")

IMPORTANCE_FILE = "param_importances.png"
PARALLEL_FILE = "parallel_coordinate.png"


def write_study_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """Write the parameter-importance and parallel-coordinate plots of ``study`` into ``folder``.

    The objective is the first metric a search ranks by (validation accuracy); a multi-objective study is plotted on
    it. A plot the study cannot give yet (importances need two completed trials that differ) is left out with a log
    line; the paths written are returned.

    Example:
        >>> write_study_plots(optuna.load_study(study_name="digits-1", storage=url), Path("plots"))  # doctest: +SKIP
    """
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = (lambda trial: trial.values[0]) if len(study.directions) > 1 else None
    # Optuna's importance evaluator takes a given target as "lower is better": the first objective is maximised.
    negated_first = (lambda trial: -trial.values[0]) if len(study.directions) > 1 else None
    draws = {
        IMPORTANCE_FILE: lambda: optuna_plots.plot_param_importances(study, target=negated_first, target_name=VAL_ACCURACY),
        PARALLEL_FILE: lambda: optuna_plots.plot_parallel_coordinate(study, target=first, target_name=VAL_ACCURACY),
    }
    if len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))) < 2:
        logger.info("no %s for study %r: it needs two completed trials", IMPORTANCE_FILE, study.study_name)
        del draws[IMPORTANCE_FILE]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, draw in draws.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # Optuna warns that a small study's importances are rough; the plot says as much, and the lines would
            # break a --quiet search's silence.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"optuna\.")
            try:
                axes = draw()
            except (ValueError, RuntimeError) as exc:
                logger.info("no %s for study %r: %s", file_name, study.study_name, exc)
                continue
        if not axes.has_data():
            logger.info("no %s for study %r: no completed trial with parameters", file_name, study.study_name)
            plt.close(axes.figure)
            continue
        axes.figure.set_size_inches(11, 5)
        axes.set_title(f"{axes.get_title()}: {study.study_name}")
        axes.figure.savefig(folder / file_name, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)
        written.append(folder / file_name)
    return written


def write_stored_study_plots(storage_url: str | None, search_name: str, folder: Path) -> list[Path]:
    """:func:`write_study_plots` on the study of search ``search_name`` kept at ``storage_url``.

    Raises:
        ConfigError: There is no stored study storage, or it holds no study of that name.
    """
    storage = stored_studies(storage_url)
    try:
        study = optuna.load_study(study_name=search_name, storage=storage)
    except KeyError:
        raise ConfigError(f"the Optuna study storage {storage_url} holds no study named {search_name!r} "
                          "(a search run before studies were stored?)") from None
    return write_study_plots(study, folder)
