"""An embedding policy as the user's batch augmentation, and the errors bad inputs get before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from autoaug import load_policy
from autoaug.errors import DataError, PolicyError
from autoaug.modalities import get_modality
from autoaug.modalities.embedding import BatchAugmentation, baseline_policies
from autoaug.modalities.embedding._snippet import policy_to_snippet
from autoaug.policy import OpSpec, Policy, save_policy

STEPS = (OpSpec("e_stitchup", 1.0, 0.5), OpSpec("gaussian_noise", 0.5, 0.3))
POLICY = Policy("subpolicies", sub_policies=(STEPS,), modality="embedding", name="searched")


def test_a_saved_embedding_policy_loads_as_a_batch_augmentation(tmp_path: Path) -> None:
    path = tmp_path / "best_policy.json"
    save_policy(POLICY, path)
    aug = load_policy(path)
    assert isinstance(aug, BatchAugmentation)
    x, y = torch.randn(16, 8), torch.arange(16) % 4
    x_aug, y_soft = aug(x, y)
    assert x_aug.shape == (16, 8) and y_soft.shape == (16, 4)
    assert torch.allclose(y_soft.sum(dim=1), torch.ones(16))
    soft = torch.softmax(torch.randn(16, 5), dim=1)
    assert aug(x, soft)[1].shape == (16, 5)


def test_the_same_generator_seed_replays_a_policy() -> None:
    x, y = torch.randn(32, 8), torch.arange(32) % 3
    first = BatchAugmentation(POLICY, torch.Generator().manual_seed(5))(x, y)
    second = BatchAugmentation(POLICY, torch.Generator().manual_seed(5))(x, y)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_probability_zero_leaves_the_batch_alone_and_one_changes_every_row() -> None:
    x, y = torch.randn(64, 8), torch.arange(64) % 4
    never = Policy("subpolicies", sub_policies=((OpSpec("gaussian_noise", 0.0, 1.0),),), modality="embedding")
    always = Policy("subpolicies", sub_policies=((OpSpec("gaussian_noise", 1.0, 1.0),),), modality="embedding")
    assert torch.equal(BatchAugmentation(never)(x, y)[0], x)
    assert bool((BatchAugmentation(always)(x, y)[0] != x).all(dim=1).all())


def test_the_baselines_are_the_paper_ops_on_every_sample() -> None:
    policies = baseline_policies()
    assert list(policies) == ["none", "e_mixup", "e_stitchup", "soft_e_mixup", "soft_e_stitchup"]
    x, y = torch.randn(8, 4), torch.arange(8) % 2
    assert torch.equal(BatchAugmentation(policies["none"])(x, y)[0], x)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (torch.zeros(4, 2, 3), torch.zeros(4, dtype=torch.long), "shape \\[batch, dim\\]"),
        (torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long), "floating-point"),
        (torch.tensor([[0.0, float("nan")], [1.0, 1.0], [float("inf"), 0.0]]), torch.zeros(3, dtype=torch.long),
         "2 of 3 rows hold NaN"),
        (torch.zeros(4, 3), torch.zeros(5, dtype=torch.long), "expected 4 labels"),
        (torch.zeros(2, 3), torch.tensor([[0.5, 0.2], [1.0, 0.0]]), "sum to 1"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), "non-negative integers"),
    ],
)  # fmt: skip
def test_bad_batches_are_refused_with_what_is_wrong(x: torch.Tensor, y: torch.Tensor, message: str) -> None:
    with pytest.raises(DataError, match=message):
        BatchAugmentation(POLICY)(x, y)


def test_a_policy_of_the_other_modality_is_refused_both_ways() -> None:
    image_policy = Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.5, 0.5),),))
    with pytest.raises(PolicyError, match="a policy for image data, not embedding data"):
        get_modality("embedding").build_augmentation(image_policy)
    with pytest.raises(PolicyError, match="a policy for embedding data, not image data"):
        get_modality("image").build_augmentation(POLICY)


@pytest.mark.parametrize("policy", [POLICY, *baseline_policies().values()], ids=lambda p: p.name or "policy")
def test_the_standalone_snippet_replays_the_augmentation_draw_for_draw(policy: Policy) -> None:
    source = policy_to_snippet(policy)
    assert "autoaug" not in source.split('"""', 2)[2]
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    x, y = torch.randn(32, 8), torch.nn.functional.one_hot(torch.arange(32) % 3, 3).float()
    mine = namespace["build_policy"](torch.Generator().manual_seed(9))(x, y)
    ours = BatchAugmentation(policy, torch.Generator().manual_seed(9))(x, y)
    assert torch.equal(mine[0], ours[0]) and torch.equal(mine[1], ours[1])
