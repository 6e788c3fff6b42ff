"""What a running search tells a display: stages with a count, trials with their epochs and scores.

The search calls a :class:`Progress` at each step; this base class shows nothing, so a caller of the
Python API gets the plain lines the search prints (its ``echo``) and no more. A display subclasses it
and overrides the events it draws (``autoaug search`` draws bars with rich in a terminal). Events
arrive on the search's driver thread, in order. No imports: every layer may use it.
"""

from __future__ import annotations

REFERENCE = "reference fit"
"""The reference model's fine-tune, counted in epochs."""
TARGET_MATCH = "target matching"
"""Measuring each op against the target, counted in Ray tasks."""
SCREEN = "screening"
"""Scoring candidate policies against the reference, counted in Ray tasks."""
TRIALS = "trials"
"""The search's trials (baselines and searched), counted as they end."""
CONFIRMATION = "confirmation"
"""The confirmation stage's fine-tunes on fresh seeds, counted as they end."""


class Progress:
    """Receives a search's progress events; every method does nothing here.

    Example:
        >>> class Epochs(Progress):
        ...     def trial_epoch(self, name: str, epoch: int, score: float | None) -> None:
        ...         print(f"{name} epoch {epoch}: {score}")
        >>> Epochs().trial_epoch("trial-000", 1, 0.5)
        trial-000 epoch 1: 0.5
    """

    def stage_started(self, stage: str, total: int | None = None, done: int = 0) -> None:
        """A stage began: ``total`` steps (None: unknown), ``done`` of them already (a resumed search)."""

    def stage_advanced(self, stage: str, done: int) -> None:
        """``done`` steps of ``stage`` have finished."""

    def stage_finished(self, stage: str) -> None:
        """``stage`` ended (finished, skipped or stopped)."""

    def trial_started(self, name: str, epochs: int) -> None:
        """Trial ``name`` began its first epoch of ``epochs`` (again, when it is retried or resumed)."""

    def trial_epoch(self, name: str, epoch: int, score: float | None) -> None:
        """Trial ``name`` finished ``epoch`` with target-validation accuracy ``score`` (None: not reported)."""

    def trial_ended(self, name: str, outcome: str, score: float | None, std: float | None) -> None:
        """Trial ``name`` ended ``completed``, ``pruned`` or ``failed``, scoring ``score`` ± ``std``.

        ``std`` is the binomial standard error of the accuracy over the validation examples.
        """
