"""A second modality, written here through the public interface alone, runs a real small search end to end.

One-dimensional signals (three sine frequencies; the target domain is noisier than the source), two
batch ops (``jitter`` adds noise, ``mix`` blends each signal and its soft label with another's, as
mixup does) and a tiny torch model. Nothing of the search, records or command line knows of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
import torch.nn.functional as F
from mlflow import MlflowClient
from PIL import Image

from autoaug import load_policy, tasks
from autoaug.cli import main
from autoaug.cli._progress import SearchState
from autoaug.config import DataConfig, ModelConfig, Recipe, load_config
from autoaug.errors import BackboneError, SpaceError
from autoaug.metrics import classification_metrics
from autoaug.modalities import EpochResult, Modality, OnEpoch, _registry, register_modality
from autoaug.ops import _registry as ops_registry
from autoaug.ops import register_op
from autoaug.policy import Policy, plan, read_policy
from autoaug.progress import CONFIRMATION, REFERENCE, TRIALS
from autoaug.records import find_search, read_trial_policy, trial_runs
from autoaug.results import best_row
from autoaug.tuning import SearchOutcome, prepare_search, run_search

pytestmark = pytest.mark.slow

SIGNAL = "signal"
LENGTH = 32
FREQUENCIES = (1.0, 2.0, 4.0)
Batch = tuple[torch.Tensor, torch.Tensor]  # signals [B, LENGTH], soft labels [B, classes]


def jitter(batch: Batch, value: float, generator: torch.Generator | None) -> Batch:
    """Add Gaussian noise of standard deviation ``value`` to every signal."""
    x, y = batch
    return x + value * torch.randn(x.shape, generator=generator), y


def mix(batch: Batch, value: float, generator: torch.Generator | None) -> Batch:
    """Blend each signal and its label with another one's of the batch, weight ``value`` (mixup)."""
    x, y = batch
    partner = torch.randperm(len(x), generator=generator)
    return (1 - value) * x + value * x[partner], (1 - value) * y + value * y[partner]


@dataclass(frozen=True)
class Signals:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class WaveTask:
    """Clean source signals to train on; noisier target signals to score on."""

    train: Signals
    val: Signals
    test: Signals
    name: ClassVar[str] = "waves"
    class_names: ClassVar[tuple[str, ...]] = ("1 Hz", "2 Hz", "4 Hz")
    skipped: ClassVar[tuple[str, ...]] = ()  # nothing is ever unreadable or converted here
    conversions: ClassVar[dict[str, int]] = {}


def _waves(count: int, noise: float, seed: int) -> Signals:
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(count) % len(FREQUENCIES)
    t = torch.linspace(0, 1, LENGTH)
    phase = torch.rand(count, 1, generator=generator) * 6.28
    x = torch.sin(6.28 * torch.tensor(FREQUENCIES)[y][:, None] * t + phase)
    return Signals(x + noise * torch.randn(x.shape, generator=generator), y)


def load_waves(image_size: int, train_size: int, val_fraction: float, seed: int) -> WaveTask:
    """``train_size`` source signals; 60 validation and 60 test signals of the target domain."""
    return WaveTask(_waves(train_size, 0.1, seed), _waves(60, 0.6, seed + 1), _waves(60, 0.6, seed + 2))


@dataclass(frozen=True)
class Mlp:
    source: str = "random init"


@dataclass(frozen=True)
class WaveReference:
    epochs: tuple[EpochResult, ...]
    test_metrics: dict[str, float]
    state: dict[str, torch.Tensor]


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(LENGTH, 16), torch.nn.ReLU(), torch.nn.Linear(16, len(FREQUENCIES)))


def _scores(model: torch.nn.Module, data: Signals, task: WaveTask) -> dict[str, float]:
    with torch.no_grad():
        return classification_metrics(data.y, model(data.x).argmax(dim=1), task.class_names)


class SignalModality(Modality):
    """Batch augmentations ``(x, y) -> (x, y_soft)`` drawn from a policy's plan."""

    def baselines(self) -> dict[str, Policy]:
        return {"none": Policy("none", modality=SIGNAL, name="none")}

    def resolve_backbone(self, model: ModelConfig) -> Mlp:
        if model.backbone != "mlp":
            raise BackboneError(f"backbone: the signal modality has one model, 'mlp', not {model.backbone!r}")
        return Mlp()

    def load_task(self, data: DataConfig, seed: int) -> WaveTask:
        return tasks.get_task(data.task).load(data.image_size, data.train_size, data.val_fraction, seed)

    def build_augmentation(self, policy: Policy, generator: torch.Generator | None = None) -> Callable[[Batch], Batch]:
        compiled = plan(policy)

        def augment(batch: Batch) -> Batch:
            for _ in range(compiled.repeats):
                choice = compiled.choices[int(torch.randint(len(compiled.choices), (), generator=generator))]
                for index, probability, magnitude in choice:
                    if float(torch.rand((), generator=generator)) < probability:
                        low, high, _ = compiled.ranges[index]
                        level = float(torch.rand((), generator=generator)) if magnitude is None else magnitude
                        batch = compiled.ops[index].kernel(batch, low + level * (high - low), generator)
            return batch

        return augment

    def preview_inputs(self, task: WaveTask) -> torch.Tensor:
        return torch.stack([task.train.x[int((task.train.y == label).nonzero()[0])] for label in range(3)])

    def preview(self, policy: Policy, inputs: torch.Tensor, samples: int = 8, seed: int = 0) -> Image.Image:
        augment = self.build_augmentation(policy, torch.Generator().manual_seed(seed))
        labels = torch.eye(len(inputs))
        rows = [inputs, *(augment((inputs, labels))[0] for _ in range(samples))]
        pixels = ((torch.cat(rows).clamp(-2, 2) + 2) * 63).to(torch.uint8)
        return Image.fromarray(pixels.numpy())

    def fit_reference(
        self, task: WaveTask, backbone: Mlp, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> WaveReference:
        model = _model(recipe.seed)
        epochs, test = self._fit(model, self.baselines()["none"], task, recipe, on_epoch)
        return WaveReference(tuple(epochs), test, model.state_dict())

    def meter(
        self, reference: WaveReference, task: WaveTask, backbone: Mlp, recipe: Recipe
    ) -> Callable[[Policy], dict[str, float]]:
        model = _model(recipe.seed)
        model.load_state_dict(reference.state)
        clean = _scores(model, task.val, task)["accuracy"]

        def measure(policy: Policy) -> dict[str, float]:
            augment = self.build_augmentation(policy, torch.Generator().manual_seed(recipe.seed))
            x, _ = augment((task.val.x, F.one_hot(task.val.y).float()))
            return {"affinity": _scores(model, Signals(x, task.val.y), task)["accuracy"] / clean}

        return measure

    def train(
        self, policy: Policy, task: WaveTask, backbone: Mlp, recipe: Recipe, on_epoch: OnEpoch | None = None
    ) -> tuple[list[EpochResult], dict[str, float]]:
        return self._fit(_model(recipe.seed), policy, task, recipe, on_epoch)

    def _fit(
        self, model: torch.nn.Module, policy: Policy, task: WaveTask, recipe: Recipe, on_epoch: OnEpoch | None
    ) -> tuple[list[EpochResult], dict[str, float]]:
        generator = torch.Generator().manual_seed(recipe.seed)
        augment = self.build_augmentation(policy, generator)
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr)
        epochs, test = [], {}
        for epoch in range(1, recipe.epochs + 1):
            losses = []
            for batch in torch.randperm(len(task.train), generator=generator).split(recipe.batch_size):
                x, y = augment((task.train.x[batch], F.one_hot(task.train.y[batch], len(FREQUENCIES)).float()))
                loss = torch.sum(-y * F.log_softmax(model(x), dim=1), dim=1).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
            result = EpochResult(epoch, sum(losses) / len(losses), _scores(model, task.val, task), 0.0, 0.0, 0.0)
            epochs.append(result)
            test = _scores(model, task.test, task) if epoch == recipe.epochs else {}
            if on_epoch is not None:
                on_epoch(result, test or None)
        return epochs, test


@pytest.fixture(scope="module")
def signal_modality() -> Iterator[None]:
    """The modality, its ops and its task registered for this module only."""
    with pytest.MonkeyPatch.context() as patch:
        for module, name in ((ops_registry, "_OPS"), (tasks, "_TASKS"), (_registry, "_MODALITIES")):
            patch.setattr(module, name, dict(getattr(module, name)))
        register_modality(SIGNAL)(SignalModality)
        register_op("jitter", modality=SIGNAL, high=0.5, description="noise standard deviation")(jitter)
        register_op("mix", modality=SIGNAL, high=0.5, description="weight of the partner signal")(mix)
        tasks.register_task("waves", modality=SIGNAL, description="sines, noisier at the target", epochs=2,
                            train_size=96)(load_waves)
        yield


@pytest.fixture(scope="module")
def searched(
    signal_modality: None, ray_runtime: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SearchOutcome, Path, SearchState]:
    folder = tmp_path_factory.mktemp("signal")
    space = folder / "waves.yaml"
    space.write_text("version: 1\nname: waves\nmodality: signal\nstructure: sequence\nops: [jitter, mix]\n")
    config = load_config(overrides={
        "modality": SIGNAL, "task": "waves", "backbone": "mlp", "weights": "none", "space": str(space),
        "baselines": ["none"], "trials": 3, "batch_size": 16, "lr": 0.01, "confirm_top": 1, "confirm_seeds": 2,
        "early_stopping": False, "name": "waves", "tracking_uri": f"sqlite:///{folder}/mlruns/mlflow.db",
    })
    state = SearchState()
    return run_search(prepare_search(config), progress=state), folder, state


def test_the_search_runs_every_trial_and_confirms_its_pick(searched: tuple[SearchOutcome, Path, SearchState]) -> None:
    outcome, *_ = searched
    assert outcome.finished and len(outcome.rows) == 4
    assert all(row.outcome == "completed" for row in outcome.rows)
    assert outcome.selection is not None and outcome.best is not None
    assert outcome.selection.pick == outcome.best.name
    assert all("affinity" in row.metrics and "diversity" in row.metrics for row in outcome.rows)


def test_the_search_reports_its_progress(searched: tuple[SearchOutcome, Path, SearchState]) -> None:
    outcome, _, state = searched
    stages = {name: (stage.total, stage.done, stage.finished) for name, stage in state.stages.items()}
    # The reference's 2 epochs streamed from its Ray task; 4 trials; 2 seeds x (1 candidate + 1 baseline).
    assert stages == {REFERENCE: (2, 2, True), TRIALS: (4, 4, True), CONFIRMATION: (4, 4, True)}
    assert (state.done, state.running, state.queued, state.epochs_done) == (4, 0, 0, 8)
    assert {name: (trial.epoch, trial.outcome) for name, trial in state.trials.items()} == {
        row.name: (2, "completed") for row in outcome.rows}
    best = best_row(outcome.rows)
    assert state.best is not None and best is not None
    assert (state.best.name, state.best.score) == (best.name, best.score)
    examples = len(load_waves(0, 96, 0.0, 0).val)
    assert state.best.std == pytest.approx(math.sqrt(best.score * (1 - best.score) / examples))


def test_every_trial_is_recorded_with_its_signal_policy_and_preview(searched: tuple[SearchOutcome, Path, SearchState]) -> None:
    outcome, *_ = searched
    client = MlflowClient(outcome.tracking_uri)
    runs = trial_runs(client, find_search(client, "autoaug", "waves"))
    assert len(runs) == 4
    for run in runs:
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"policy.json", "augmented_samples.png"} <= artifacts
        assert read_trial_policy(client, run).modality == SIGNAL
        datasets = {item.dataset.name: json.loads(item.dataset.profile) for item in run.inputs.dataset_inputs}
        assert datasets == {"waves-training": {"rows": 96, "classes": 3}, "waves-target": {"rows": 60, "classes": 3}}


def test_the_exported_policy_loads_as_a_batch_augmentation(
    searched: tuple[SearchOutcome, Path, SearchState], capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, folder, _ = searched
    exported = folder / "best.json"
    assert main(["export", "--name", "waves", "--tracking-uri", outcome.tracking_uri, "-o", str(exported)]) == 0
    assert read_policy(exported).modality == SIGNAL
    assert "no standalone source" in capsys.readouterr().out and not exported.with_suffix(".py").exists()
    augment: Any = load_policy(exported)
    x, y = augment((torch.zeros(4, LENGTH), torch.eye(3)[[0, 1, 2, 0]]))
    assert x.shape == (4, LENGTH) and torch.allclose(y.sum(dim=1), torch.ones(4))


def test_a_space_of_another_modality_is_refused_before_anything_starts(signal_modality: None) -> None:
    config = load_config(overrides={"modality": SIGNAL, "task": "waves", "backbone": "mlp", "space": "randaugment"})
    with pytest.raises(SpaceError, match="the space is for image data, the search's is signal data"):
        prepare_search(config)
