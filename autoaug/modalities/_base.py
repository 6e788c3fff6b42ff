"""The modality interface: everything the search, the evaluation and the command line need from one
kind of input data, and the types that cross it."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from PIL import Image

from autoaug.config import DataConfig, ModelConfig, Recipe
from autoaug.errors import ConfigError, ExportError, PolicyError
from autoaug.modalities._data_inputs import DataInput, describe_data
from autoaug.policy import OpSpec, Policy


def check_policy_modality(policy: Policy, modality: str) -> Policy:
    """``policy``, if it is a policy for ``modality`` data.

    Raises:
        PolicyError: If it is for another modality, saying which and what builds it.
    """
    if policy.modality != modality:
        raise PolicyError(
            f"modality: this is a policy for {policy.modality} data, not {modality} data; "
            f"autoaug.load_policy builds the {policy.modality} augmentation it describes"
        )
    return policy


@dataclass(frozen=True)
class EpochResult:
    """What one fine-tuning epoch did.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: Mean loss over the epoch's training inputs.
        metrics: Classification metrics on the validation data (``accuracy``, ``macro_f1``, ...);
            empty without validation data.
        seconds_train: Time in forward/backward/optimiser steps, including moving batches to the device.
        seconds_augment: Time the training thread spent augmenting inputs, or waiting for workers to.
        seconds_eval: Time spent scoring the validation data.
    """

    epoch: int
    train_loss: float
    metrics: dict[str, float]
    seconds_train: float
    seconds_augment: float
    seconds_eval: float


OnEpoch = Callable[[EpochResult, "dict[str, float] | None"], None]
"""Called after each epoch with its result and, after the last one, the held-out test metrics."""


class Task(Protocol):
    """The data of a task, as the search and the evaluation see it (the modality knows the rest)."""

    name: str
    class_names: tuple[str, ...]
    train: Sized
    val: Sized
    test: Sized
    skipped: tuple[str, ...]
    """Inputs left out as unreadable, each ``"path: reason"``."""
    conversions: Mapping[str, int]
    """Inputs that took more than a plain conversion on load, counted by kind."""


class Backbone(Protocol):
    """Pre-trained weights (or a frozen encoder) every fine-tune starts from."""

    source: str
    """Where they come from, for reports (``"package ..."``, ``"file ..."``, ``"random init"``)."""


class Reference(Protocol):
    """The backbone fine-tuned once without augmentation: what every policy is measured against."""

    epochs: Sequence[EpochResult]
    test_metrics: Mapping[str, float]


SHORTLIST = 6
"""How many ops, the closest to the target alone, target matching chains from (and a search then draws from)."""


@dataclass(frozen=True)
class TargetMatch:
    """What target matching found: the chain of ops that brings training inputs closest to the target.

    Attributes:
        chain: The ops, in order, each as (name, magnitude in [0, 1]); empty when none closed the gap.
        clean: Relevance distance of the clean training sample (no augmentation).
        floor: Relevance distance between two halves of the target sample (sampling noise alone).
        matched: Relevance distance with every op of the chain applied.
        singles: Relevance distance of each op tried alone, as (name, magnitude, distance), closest first.
    """

    chain: tuple[tuple[str, float], ...]
    clean: float
    floor: float
    matched: float
    singles: tuple[tuple[str, float, float], ...]

    @property
    def closest_ops(self) -> tuple[str, ...]:
        """The :data:`SHORTLIST` ops that came closest to the target alone, closest first."""
        return tuple(dict.fromkeys(name for name, _, _ in self.singles))[:SHORTLIST]

    @property
    def gain(self) -> float:
        """Share of the clean distance the chain closes (0 for an empty chain)."""
        return 1.0 - self.matched / self.clean if self.clean > 0 else 0.0

    def policy(self, probability: float) -> Policy:
        """The chain as a policy, each op applied with ``probability``."""
        specs = tuple(OpSpec(name, probability, magnitude) for name, magnitude in self.chain)
        return Policy("subpolicies", sub_policies=(specs,)) if specs else Policy("none")


class Modality(abc.ABC):
    """One kind of input data (images, embeddings, audio): the only tensor code a search runs.

    A search calls, in this order:

    1. :meth:`select_baselines` (driver, once): the named policies the search compares with.
    2. :meth:`resolve_backbone` (driver, once): the pre-trained backbone or encoder, checked up front.
    3. :meth:`load_task` (driver, once): the training data and the clean target splits; then
       :meth:`describe_loading` says what loading left out or changed, and :meth:`data_inputs` what
       the records list as the search's datasets.
    4. :meth:`preview_inputs` (driver, once) and :meth:`preview` (driver, per trial): a picture of
       what a policy does, recorded with the trial.
    5. :meth:`reference_key`, :meth:`load_reference` (driver) or :meth:`fit_reference` (a worker),
       then :meth:`save_reference`: the reference model, fitted once per set of inputs.
    6. :meth:`measure_singles` and :meth:`match_target` (workers, once, before the sampler): the ops
       that bring the training inputs closest to the target, without training (optional).
    7. :meth:`meter` (a worker, per trial and screened candidate): a policy's measures against the
       reference, without training.
    8. :meth:`train` (a worker, per trial and confirmation repeat): fine-tune under a policy.

    :meth:`build_augmentation` turns a policy into what :meth:`meter` and :meth:`train` apply and what
    :func:`autoaug.load_policy` gives the user: per sample (an image in, an image out) or per batch
    (``(x, y) -> (x, y_soft)``, for ops such as mixup that combine samples and soften their labels).
    An evaluation calls 1, 2, 3 and 8; ``autoaug export`` calls :meth:`standalone_source` (with ``--format``,
    :meth:`library_source`). Register an implementation with :func:`~autoaug.modalities.register_modality`;
    nothing else of the package needs to change.
    """

    name: ClassVar[str] = ""
    """The modality's registry name (set by :func:`~autoaug.modalities.register_modality`)."""
    matches_targets: ClassVar[bool] = False
    """Whether the modality implements :meth:`measure_singles` and :meth:`match_target` (a search skips
    target matching without them, before starting any task)."""

    @abc.abstractmethod
    def baselines(self) -> dict[str, Policy]:
        """The named baseline policies of this modality (``"none"`` at least: no augmentation)."""

    def select_baselines(self, names: Iterable[str]) -> dict[str, Policy]:
        """The baselines called ``names``, in that order.

        Raises:
            ConfigError: If a name is not a baseline of this modality (the message lists them).
        """
        names = tuple(names)
        known = self.baselines()
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(f"baselines: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
        return {name: known[name] for name in names}

    @abc.abstractmethod
    def resolve_backbone(self, model: ModelConfig) -> Backbone:
        """Find and load the pre-trained backbone once, before anything trains.

        Raises:
            AutoaugError: If it is unknown or its weights cannot be found, read or fitted.
        """

    @abc.abstractmethod
    def load_task(self, data: DataConfig, seed: int) -> Task:
        """Load the task's data; the same settings and seed give the same data.

        Raises:
            AutoaugError: If the data cannot be used as given, naming the input and the fix.
        """

    def describe_loading(self, task: Task) -> list[str]:
        """Lines saying what loading ``task`` left out or converted (none by default)."""
        return []

    def data_inputs(self, task: Task, data: DataConfig, held_out: bool = False) -> tuple[DataInput, ...]:
        """The training and target-validation splits of ``task`` (loaded with ``data``), and with ``held_out``
        its held-out test split, as plain run inputs for the records: name, context, a fingerprint of the
        content, size and where they come from.

        The default fingerprints each split's arrays (the fields of a dataclass split); override it for data
        held otherwise.
        """
        return describe_data(task, data, held_out)

    @abc.abstractmethod
    def build_augmentation(self, policy: Policy, generator: Any = None) -> Callable[..., Any]:
        """The augmentation ``policy`` describes; ``generator`` (a seeded ``torch.Generator``) replays its draws."""

    def standalone_source(self, policy: Policy) -> str | None:
        """Python source that rebuilds the augmentation without autoaug (for ``autoaug export``); None: none."""
        return None

    def library_source(self, policy: Policy, library: str) -> str:
        """Python source that builds the augmentation from ``library``'s own transforms (``autoaug export --format``).

        Raises:
            ExportError: If an op has no exact counterpart there (the message names each), or the modality exports
                to no library (the default).
        """
        raise ExportError(f"the {self.name} modality exports to no library; leave --format out for its policy file")

    @abc.abstractmethod
    def preview_inputs(self, task: Task) -> Any:
        """A few training inputs to preview policies on (small: the driver keeps them)."""

    @abc.abstractmethod
    def preview(self, policy: Policy, inputs: Any, samples: int = 8, seed: int = 0) -> Image.Image:
        """A picture of ``samples`` draws of ``policy`` on ``inputs``; the same seed, the same picture."""

    def reference_key(self, task: Task, backbone: Backbone, recipe: Recipe) -> str | None:
        """A digest of everything that determines the reference, to cache it under; None: never cached."""
        return None

    def load_reference(self, path: Path, key: str) -> Reference | None:
        """The reference cached at ``path`` if it was made for ``key``, else None."""
        return None

    def save_reference(self, reference: Reference, path: Path) -> None:
        """Cache ``reference`` at ``path`` (nothing by default)."""

    @abc.abstractmethod
    def fit_reference(
        self, task: Task, backbone: Backbone, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> Reference:
        """Fine-tune the backbone without augmentation (as :meth:`train` would, calling ``on_epoch`` after each
        epoch) and keep what policies are measured against."""

    def measure_singles(
        self,
        reference: Reference,
        task: Task,
        backbone: Backbone,
        recipe: Recipe,
        ops: Sequence[str],
        magnitude_range: tuple[float, float],
    ) -> list[tuple[str, float, float]]:
        """How far each of ``ops``, applied alone at a few magnitudes in ``magnitude_range``, leaves the
        training inputs from the clean target inputs, without training, as (name, magnitude, distance)
        (with :attr:`matches_targets` only)."""
        raise NotImplementedError(f"modality {self.name!r} does not match targets")

    def match_target(
        self,
        reference: Reference,
        task: Task,
        backbone: Backbone,
        recipe: Recipe,
        singles: Sequence[tuple[str, float, float]],
        max_ops: int,
    ) -> TargetMatch:
        """Chain at most ``max_ops`` of the ops :meth:`measure_singles` measured (with the same ``recipe.seed``)
        into the one that brings the training inputs closest to the target."""
        raise NotImplementedError(f"modality {self.name!r} does not match targets")

    @abc.abstractmethod
    def meter(
        self, reference: Reference, task: Task, backbone: Backbone, recipe: Recipe
    ) -> Callable[[Policy], dict[str, float]]:
        """A function that measures a policy against ``reference`` without training (``affinity`` and
        the like, see :data:`autoaug.vocabulary.MEASURES`); built once, called per policy, seeded from
        ``recipe.seed`` so that the same policy always gets the same measures."""

    @abc.abstractmethod
    def train(
        self, policy: Policy, task: Task, backbone: Backbone, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> tuple[list[EpochResult], dict[str, float]]:
        """Fine-tune a fresh model (initialised from ``recipe.seed``) under ``policy``, scoring the
        validation split every epoch and the held-out test split once after the last.

        Returns:
            The epoch results and the test split's classification metrics (``accuracy``, ...).
        """
