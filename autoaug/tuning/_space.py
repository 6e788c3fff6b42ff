"""Search spaces: a YAML file, validated once, turned into define-by-run Optuna suggestions.

A space names a policy *structure* and the ops and ranges the sampler may use::

    version: 1
    name: default
    modality: image            # optional; the modality whose ops and baselines it names
    structure: sequence        # sequence | subpolicies | rand | trivial | stacked
    ops: [rotate, downscale, gaussian_blur, "shear_*"]
    probability: [0.0, 1.0]
    magnitude: [0.0, 1.0]

* ``sequence``: every listed op, in order, with its own searched probability and magnitude
  (one AutoAugment sub-policy holding all ops; a probability near 0 switches an op off).
* ``subpolicies``: ``sub_policies`` x ``ops_per_sub_policy`` searched (op, probability, magnitude)
  slots; one sub-policy is drawn per image (AutoAugment).
* ``rand``: RandAugment over the listed ops; searches N in ``num_ops`` and the shared magnitude M.
* ``trivial``: TrivialAugment; searches which of the listed ops stay in the pool.
* ``stacked``: a free baseline of the modality from ``bases`` (images: ``none``, ``trivial_augment_wide``,
  ``rand_augment``, ``auto_augment``) followed by ``extra_ops`` searched (op, probability, magnitude) steps. With no
  extra step the policy *is* the baseline, so every baseline is a point of the space (the search
  starts from them) and mild policies are as easy to draw as heavy ones.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import optuna
import pydantic
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from autoaug._yaml import FrozenModel, read_yaml, validate
from autoaug.errors import AutoaugError, PolicyError, SpaceError
from autoaug.modalities import get_modality
from autoaug.ops import get_op, list_ops
from autoaug.policy import OpSpec, Policy
from autoaug.vocabulary import DEFAULT_MODALITY

Structure = Literal["sequence", "subpolicies", "rand", "trivial", "stacked"]
_STRUCTURE_FIELDS: dict[str, set[str]] = {
    "sequence": {"probability", "magnitude"},
    "subpolicies": {"probability", "magnitude", "sub_policies", "ops_per_sub_policy"},
    "rand": {"magnitude", "num_ops"},
    "trivial": set(),
    "stacked": {"probability", "magnitude", "bases", "extra_ops"},
}
BASE_PARAM = "base"
EXTRA_OPS_PARAM = "extra_ops"
_BUILTIN_PACKAGE = "autoaug.search_spaces"


class Suggester(Protocol):
    """The part of ``optuna.Trial`` a space uses (Ray Tune passes a wrapper with the same calls)."""

    def suggest_float(self, name: str, low: float, high: float) -> float: ...
    def suggest_int(self, name: str, low: int, high: int) -> int: ...
    def suggest_categorical(self, name: str, choices: list[str]) -> str: ...


def _check_unit_range(value: tuple[float, float]) -> tuple[float, float]:
    low, high = value
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"expected [low, high] with 0 <= low <= high <= 1, got [{low}, {high}]")
    return value


class SearchSpace(FrozenModel):
    """A validated search space. Build it with :func:`load_space`.

    Each structure proposes its policies in a method ``_propose_<structure>``, and names the fields it
    reads in ``_STRUCTURE_FIELDS``.
    """

    version: Literal[1] = 1
    name: str
    description: str = ""
    modality: str = DEFAULT_MODALITY
    structure: Structure
    ops: tuple[str, ...] = pydantic.Field(min_length=1)
    probability: tuple[float, float] = (0.0, 1.0)
    magnitude: tuple[float, float] = (0.0, 1.0)
    sub_policies: int = pydantic.Field(default=2, ge=1, le=50)
    ops_per_sub_policy: int = pydantic.Field(default=2, ge=1, le=10)
    num_ops: tuple[int, int] = (1, 3)
    bases: tuple[str, ...] = ("none", "trivial_augment_wide", "rand_augment", "auto_augment")
    extra_ops: tuple[int, int] = (0, 3)

    _unit_ranges = pydantic.field_validator("probability", "magnitude")(_check_unit_range)

    @pydantic.field_validator("num_ops")
    @classmethod
    def _check_num_ops(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1] <= 10:
            raise ValueError(f"expected [low, high] with 1 <= low <= high <= 10, got {list(value)}")
        return value

    @pydantic.field_validator("modality")
    @classmethod
    def _known_modality(cls, value: str) -> str:
        try:
            get_modality(value)
        except AutoaugError as exc:
            raise ValueError(str(exc)) from None
        return value

    @pydantic.field_validator("bases")
    @classmethod
    def _check_bases(cls, value: tuple[str, ...], info: pydantic.ValidationInfo) -> tuple[str, ...]:
        known = _baselines(info.data.get("modality", DEFAULT_MODALITY))
        unknown = [name for name in value if name not in known]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"expected distinct baseline names from {', '.join(known)}, got {list(value)}")
        return value

    @pydantic.field_validator("extra_ops")
    @classmethod
    def _check_extra_ops(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1] <= 10:
            raise ValueError(f"expected [low, high] with 0 <= low <= high <= 10, got {list(value)}")
        return value

    @pydantic.field_validator("ops")
    @classmethod
    def _expand_ops(cls, patterns: tuple[str, ...], info: pydantic.ValidationInfo) -> tuple[str, ...]:
        modality = info.data.get("modality", DEFAULT_MODALITY)
        names: list[str] = []
        for index, pattern in enumerate(patterns):
            if any(char in pattern for char in "*?["):
                matches = [op.name for op in list_ops(pattern, modality)]
                if not matches:
                    raise ValueError(f"ops[{index}]: pattern {pattern!r} matches no op (see `autoaug ops`)")
            else:
                try:
                    matches = [get_op(pattern, modality).name]
                except PolicyError as exc:
                    raise ValueError(f"ops[{index}]: {exc}") from None
            names.extend(name for name in matches if name not in names)
        return tuple(names)

    @pydantic.model_validator(mode="after")
    def _check_fields_fit_structure(self) -> SearchSpace:
        structure_specific = set().union(*_STRUCTURE_FIELDS.values())
        misplaced = (self.model_fields_set & structure_specific) - _STRUCTURE_FIELDS[self.structure]
        if misplaced:
            allowed = ", ".join(sorted(_STRUCTURE_FIELDS[self.structure])) or "none"
            raise ValueError(
                f"{', '.join(sorted(misplaced))} has no meaning for structure {self.structure!r} "
                f"(its own settings: {allowed})"
            )
        return self

    def suggest(self, trial: Suggester) -> Policy:
        """Draw one policy from the space. Does no computation beyond the suggestions."""
        propose: Callable[[Suggester], Policy] = getattr(self, f"_propose_{self.structure}")
        return propose(trial)

    def _propose_sequence(self, trial: Suggester) -> Policy:
        steps = tuple(self._suggest_op(trial, op, op) for op in self.ops)
        return Policy(structure="subpolicies", sub_policies=(steps,), modality=self.modality)

    def _propose_subpolicies(self, trial: Suggester) -> Policy:
        sub_policies = tuple(
            tuple(self._suggest_slot(trial, f"s{i}.op{j}") for j in range(self.ops_per_sub_policy))
            for i in range(self.sub_policies)
        )
        return Policy(structure="subpolicies", sub_policies=sub_policies, modality=self.modality)

    def _propose_stacked(self, trial: Suggester) -> Policy:
        base = trial.suggest_categorical(BASE_PARAM, list(self.bases))
        count = trial.suggest_int(EXTRA_OPS_PARAM, *self.extra_ops)
        steps = tuple(self._suggest_slot(trial, f"extra{i}") for i in range(count))
        return stack(_baselines(self.modality)[base], steps)

    def _propose_rand(self, trial: Suggester) -> Policy:
        num_ops = trial.suggest_int("num_ops", *self.num_ops)
        magnitude = trial.suggest_float("magnitude", *self.magnitude)
        return Policy(structure="rand", ops=self.ops, num_ops=num_ops, magnitude=magnitude, modality=self.modality)

    def _propose_trivial(self, trial: Suggester) -> Policy:
        kept = tuple(op for op in self.ops if trial.suggest_categorical(f"use.{op}", ["yes", "no"]) == "yes")
        return Policy(structure="trivial", ops=kept or ("identity",), modality=self.modality)

    def baseline_point(self, baseline: str) -> dict[str, tuple[str | int, BaseDistribution]] | None:
        """The space's parameters (value, distribution) that give the baseline ``baseline``, if it holds it.

        Only a ``stacked`` space holds baselines: ``base`` = the baseline, no extra op. The search tells
        these points to the sampler with the baselines' scores (a warm start).
        """
        if self.structure != "stacked" or baseline not in self.bases or self.extra_ops[0] > 0:
            return None
        return {
            BASE_PARAM: (baseline, CategoricalDistribution(list(self.bases))),
            EXTRA_OPS_PARAM: (0, IntDistribution(*self.extra_ops)),
        }

    def with_ops(self, ops: tuple[str, ...]) -> SearchSpace:
        """The same space drawing its ops from ``ops`` only (a subset of :attr:`ops`, in their order).

        Raises:
            SpaceError: If ``ops`` is empty or holds an op the space does not have.
        """
        unknown = [op for op in ops if op not in self.ops]
        if not ops or unknown:
            raise SpaceError(f"space {self.name!r}: expected some of its ops {list(self.ops)}, got {list(ops)}")
        return self.model_copy(update={"ops": tuple(op for op in self.ops if op in ops)})

    def random_params(self, seed: int) -> dict[str, Any]:
        """The parameters of one policy drawn uniformly at random from the space (for Optuna to enqueue)."""
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # a throwaway study is no news to the user
        try:
            trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
        finally:
            optuna.logging.set_verbosity(verbosity)
        self.suggest(trial)
        return dict(trial.params)

    def _suggest_slot(self, trial: Suggester, key: str) -> OpSpec:
        return self._suggest_op(trial, key, trial.suggest_categorical(key, list(self.ops)))

    def _suggest_op(self, trial: Suggester, key: str, op: str) -> OpSpec:
        return OpSpec(
            name=op,
            probability=trial.suggest_float(f"{key}.p", *self.probability),
            magnitude=trial.suggest_float(f"{key}.m", *self.magnitude),
        )


def _baselines(modality: str) -> dict[str, Policy]:
    return get_modality(modality).baselines()


def stack(baseline: Policy, steps: tuple[OpSpec, ...]) -> Policy:
    """The ``baseline`` policy followed by ``steps``; with no step, the baseline itself.

    Example:
        >>> from autoaug.modalities.image import baseline_policies
        >>> stack(baseline_policies()["rand_augment"], (OpSpec("downscale", 0.5, 0.8),)).structure
        'stacked'
        >>> stack(baseline_policies()["none"], ()).structure
        'none'
    """
    if not steps:
        return baseline
    modality = baseline.modality
    if baseline.structure == "none":
        return Policy("subpolicies", sub_policies=(steps,), modality=modality)
    if baseline.structure == "subpolicies":  # each of its sub-policies, then the steps
        return Policy("subpolicies", sub_policies=tuple(sub + steps for sub in baseline.sub_policies), modality=modality)
    return Policy(
        "stacked", transform=baseline.transform, kwargs=baseline.kwargs, sub_policies=(steps,), modality=modality
    )


def builtin_spaces() -> list[str]:
    """Names of the search spaces shipped with autoaug."""
    files = resources.files(_BUILTIN_PACKAGE).iterdir()
    return sorted(Path(entry.name).stem for entry in files if entry.name.endswith(".yaml"))


def resolve_space_path(name_or_path: str) -> Path:
    """Map a built-in space name or a file path to the YAML file it refers to."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise SpaceError(f"{path}: search-space file not found")
        return path
    if name_or_path in builtin_spaces():
        return Path(str(resources.files(_BUILTIN_PACKAGE) / f"{name_or_path}.yaml"))
    raise SpaceError(
        f"unknown search space {name_or_path!r}: give a YAML file path or one of the built-in "
        f"spaces: {', '.join(builtin_spaces())}"
    )


def load_space(name_or_path: str) -> SearchSpace:
    """Load and validate a search space by built-in name (``default``) or YAML path.

    Example:
        >>> load_space("randaugment").structure
        'rand'
    """
    path = resolve_space_path(name_or_path)
    return validate(SearchSpace, read_yaml(path, SpaceError), str(path), SpaceError)

