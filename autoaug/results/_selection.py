"""Noise-aware selection: paired repeats of the best searched policies and the baselines decide the pick.

A search ranks every trial on one seed, and one fine-tune's score moves by several points from seed
to seed, so the top trial is partly luck. The confirmation stage fine-tunes the top searched policies
and every baseline again on fresh seeds, paired (the same seeds for all), and this module turns those
scores into a decision. Pure numbers: no Ray, MLflow or torch.

The rule:

1. The best baseline is the baseline with the highest mean confirmation score.
2. A searched candidate's *paired gap* is its score minus the best baseline's, seed by seed; it is
   summarised by its mean, sample standard deviation and a two-sided 95% Student-t interval.
3. A candidate is *confirmed* when the mean gap exceeds its standard deviation (the project's
   meaning of "beats": a paired gap larger than its spread).
4. The pick is the confirmed candidate with the largest mean gap; when none is confirmed, it is the
   best baseline, and the verdict says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autoaug.errors import ConfigError

__all__ = ["PairedGap", "Selection", "paired_gap", "select"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedGap:
    """Seed-by-seed differences ``a - b`` summarised.

    Attributes:
        mean: Mean difference.
        std: Sample standard deviation of the differences (nan for one seed).
        n: Number of paired seeds.
        low: Lower end of the two-sided 95% Student-t interval of the mean (nan for one seed).
        high: Upper end of that interval.
    """

    mean: float
    std: float
    n: int
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """Whether the mean gap is larger than its spread (at least two seeds needed)."""
        return self.n >= 2 and self.mean > self.std

    def to_dict(self) -> dict[str, float]:
        """The numbers, for JSON records."""
        return {"mean": self.mean, "std": self.std, "n": self.n, "ci_low": self.low, "ci_high": self.high}

    def describe(self) -> str:
        """``+0.031 ± 0.012 (95% CI +0.001 to +0.061, 3 seeds)``."""
        interval = f"95% CI {self.low:+.3f} to {self.high:+.3f}, " if self.n >= 2 else ""
        return f"{self.mean:+.3f} ± {self.std:.3f} ({interval}{self.n} seed{'s' if self.n != 1 else ''})"


def paired_gap(a: Mapping[int, float], b: Mapping[int, float]) -> PairedGap:
    """The paired gap ``a - b`` over the seeds both have.

    Example:
        >>> gap = paired_gap({1: 0.5, 2: 0.6, 3: 0.7}, {1: 0.4, 2: 0.5, 3: 0.5})
        >>> round(gap.mean, 3), round(gap.std, 3), gap.clear
        (0.133, 0.058, True)
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ConfigError("a paired gap needs at least one seed that both policies ran")
    differences = [a[seed] - b[seed] for seed in seeds]
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return PairedGap(mean, math.nan, 1, math.nan, math.nan)
    std = statistics.stdev(differences)
    from scipy import stats  # here: importing scipy.stats takes seconds, and the command line imports this module

    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(differences) - 1) * std / math.sqrt(len(differences))
    return PairedGap(mean, std, len(differences), mean - half, mean + half)


@dataclass(frozen=True)
class Selection:
    """What the confirmation stage decided.

    Attributes:
        pick: Label of the chosen policy (a searched candidate or a baseline).
        pick_is_baseline: Whether the pick is a baseline (no searched policy was confirmed).
        best_baseline: Label of the baseline with the highest mean score.
        gaps: Each searched candidate's paired gap to the best baseline, best first.
        means: Mean confirmation score of every policy.
        stds: Sample standard deviation of every policy's scores (nan for one seed).
        seeds: The confirmation seeds.
    """

    pick: str
    pick_is_baseline: bool
    best_baseline: str
    gaps: dict[str, PairedGap]
    means: dict[str, float]
    stds: dict[str, float]
    seeds: tuple[int, ...]

    @property
    def pick_gap(self) -> PairedGap | None:
        """The pick's paired gap to the best baseline (None when the pick is that baseline)."""
        return self.gaps.get(self.pick)

    def verdict(self) -> str:
        """One plain sentence for the final report, the parent run and the exported file."""
        if not self.pick_is_baseline:
            return (
                f"{self.pick} beats the best baseline ({self.best_baseline}) on {len(self.seeds)} fresh seeds: "
                f"paired gap {self.gaps[self.pick].describe()}"
            )
        if not self.gaps:
            return f"no searched policy reached the confirmation stage; exporting the best baseline ({self.pick})"
        best_label, best = next(iter(self.gaps.items()))
        return (
            f"no searched policy was confirmed better than the best baseline ({self.best_baseline}) on "
            f"{len(self.seeds)} fresh seeds (closest: {best_label}, paired gap {best.describe()}); "
            f"exporting {self.pick}"
        )


def select(
    scores: Mapping[str, Mapping[int, float]], baselines: Sequence[str], candidates: Sequence[str]
) -> Selection:
    """Decide between the searched ``candidates`` and the ``baselines`` on paired scores.

    Args:
        scores: Each policy's score per confirmation seed.
        baselines: Labels of the baselines (at least one).
        candidates: Labels of the searched policies (may be empty).

    Raises:
        ConfigError: If there is no baseline or a label has no scores.

    Example:
        >>> scores = {"none": {1: 0.2, 2: 0.3}, "ta": {1: 0.4, 2: 0.4}, "t1": {1: 0.5, 2: 0.52}}
        >>> select(scores, ["none", "ta"], ["t1"]).pick
        't1'
    """
    if not baselines:
        raise ConfigError("the confirmation stage needs at least one baseline to compare with")
    missing = [label for label in (*baselines, *candidates) if not scores.get(label)]
    if missing:
        raise ConfigError(f"no confirmation scores for {', '.join(missing)}")
    means = {label: statistics.fmean(values.values()) for label, values in scores.items()}
    stds = {
        label: statistics.stdev(values.values()) if len(values) > 1 else math.nan for label, values in scores.items()
    }
    best_baseline = max(baselines, key=lambda label: means[label])
    gaps = {label: paired_gap(scores[label], scores[best_baseline]) for label in candidates}
    gaps = dict(sorted(gaps.items(), key=lambda item: -item[1].mean))
    confirmed = [label for label, gap in gaps.items() if gap.clear]
    seeds = tuple(sorted(set().union(*(set(values) for values in scores.values()))))
    pick = confirmed[0] if confirmed else best_baseline
    return Selection(pick, not confirmed, best_baseline, gaps, means, stds, seeds)
