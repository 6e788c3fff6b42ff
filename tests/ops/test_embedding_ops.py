"""Known-answer tests of the embedding ops: identities, label sums, stitch shares, replay."""

from __future__ import annotations

import pytest
import torch

from autoaug.ops import get_op, list_ops
from autoaug.ops.embedding import SOFTENING, mix, smooth, stitch, stitch_masks
from autoaug.ops.embedding._batch import beta_weights
from autoaug.ops.embedding._neighbours import class_neighbours

EMBEDDING_OPS = [op.name for op in list_ops(modality="embedding")]


def _batch(size: int = 32, dim: int = 16, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(size) % classes
    return torch.randn(size, dim, generator=generator), torch.nn.functional.one_hot(y, classes).float()


def test_the_registry_holds_the_paper_ops_and_the_feature_space_ops() -> None:
    assert set(EMBEDDING_OPS) == {
        "e_mixup", "e_stitchup", "soft_e_mixup", "soft_e_stitchup", "gaussian_noise", "feature_dropout",
        "class_interpolate", "class_extrapolate",
    }  # fmt: skip


@pytest.mark.parametrize("name", EMBEDDING_OPS)
@pytest.mark.parametrize("magnitude", [0.0, 0.5, 1.0])
def test_every_op_keeps_shapes_and_gives_labels_that_sum_to_one(name: str, magnitude: float) -> None:
    op = get_op(name, "embedding")
    x, y = _batch()
    x_aug, y_aug = op.kernel((x, y), op.low + magnitude * (op.high - op.low), torch.Generator().manual_seed(1))
    assert x_aug.shape == x.shape and y_aug.shape == y.shape
    assert torch.isfinite(x_aug).all() and (y_aug >= 0).all()
    assert torch.allclose(y_aug.sum(dim=1), torch.ones(len(y)), atol=1e-6)


@pytest.mark.parametrize("name", EMBEDDING_OPS)
def test_the_same_generator_seed_replays_the_same_draw(name: str) -> None:
    op, batch = get_op(name, "embedding"), _batch()
    first = op.kernel(batch, op.high, torch.Generator().manual_seed(7))
    second = op.kernel(batch, op.high, torch.Generator().manual_seed(7))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_mixing_with_weight_one_is_the_identity() -> None:
    x, y = _batch()
    partner = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    mixed = mix((x, y), partner, torch.ones(len(x), 1))
    assert torch.equal(mixed[0], x) and torch.equal(mixed[1], y)


def test_mixing_interpolates_inputs_and_labels_by_the_weight() -> None:
    x, y = _batch(size=2)
    x_mix, y_mix = mix((x, y), torch.tensor([1, 0]), torch.tensor([[0.7], [0.6]]))
    assert torch.allclose(x_mix[0], 0.7 * x[0] + 0.3 * x[1])
    assert torch.allclose(y_mix[1], 0.6 * y[1] + 0.4 * y[0])


@pytest.mark.parametrize("lam", [0.5, 0.6, 0.75, 0.9, 1.0])
def test_stitch_fractions_match_the_weight_and_the_labels_follow_the_share_kept(lam: float) -> None:
    x, y = _batch(size=256, dim=384)
    generator = torch.Generator().manual_seed(3)
    masks = stitch_masks(len(x), x.shape[1], torch.full((len(x), 1), lam), generator)
    share = masks.float().mean(dim=1, keepdim=True)
    assert abs(float(share.mean()) - lam) < 0.005 and float((share - lam).abs().max()) < 0.1
    partner = torch.randperm(len(x), generator=generator)
    x_st, y_st = stitch((x, y), partner, masks)
    assert torch.equal(x_st[masks], x[masks]) and torch.equal(x_st[~masks], x[partner][~masks])
    assert torch.allclose(y_st, share * y + (1 - share) * y[partner])


def test_the_mixing_weight_keeps_the_larger_share_and_tends_to_one_at_small_alpha() -> None:
    generator = torch.Generator().manual_seed(0)
    assert bool((beta_weights(1000, 1.0, generator) >= 0.5).all())
    assert float(beta_weights(1000, 0.02, generator).mean()) > 0.95


def test_soft_variants_smooth_the_mixed_labels_by_the_softening() -> None:
    batch = _batch()
    op, soft = get_op("e_mixup", "embedding"), get_op("soft_e_mixup", "embedding")
    x_hard, y_hard = op.kernel(batch, 0.5, torch.Generator().manual_seed(4))
    x_soft, y_soft = soft.kernel(batch, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(x_hard, x_soft)
    assert torch.allclose(y_soft, smooth(y_hard, SOFTENING)) and float(y_soft.max()) <= 1 - SOFTENING + SOFTENING / 4


def test_zero_noise_and_zero_dropout_are_identities_and_noise_follows_each_features_spread() -> None:
    x, y = _batch(size=2000, dim=2)
    x = x * torch.tensor([1.0, 10.0])
    for name in ("gaussian_noise", "feature_dropout"):
        assert torch.equal(get_op(name, "embedding").kernel((x, y), 0.0, None)[0], x)
    noisy, _ = get_op("gaussian_noise", "embedding").kernel((x, y), 0.5, torch.Generator().manual_seed(0))
    ratio = (noisy - x).std(dim=0) / x.std(dim=0)
    assert torch.allclose(ratio, torch.tensor([0.5, 0.5]), atol=0.03)


def test_dropout_zeroes_the_rate_of_features() -> None:
    x = torch.ones(200, 100)
    dropped, _ = get_op("feature_dropout", "embedding").kernel((x, torch.ones(200, 1)), 0.3, torch.Generator())
    assert abs(float((dropped == 0).float().mean()) - 0.3) < 0.02


def test_within_class_steps_move_towards_or_away_from_the_nearest_same_class_neighbour() -> None:
    x = torch.tensor([[0.0], [1.0], [5.0], [9.0]])
    y = torch.eye(2)[[0, 0, 0, 1]]
    assert torch.equal(class_neighbours(x, y), torch.tensor([1, 0, 1, 3]))
    inter, labels = get_op("class_interpolate", "embedding").kernel((x, y), 0.5, None)
    extra, _ = get_op("class_extrapolate", "embedding").kernel((x, y), 0.5, None)
    assert torch.equal(inter.flatten(), torch.tensor([0.5, 0.5, 3.0, 9.0])) and torch.equal(labels, y)
    assert torch.equal(extra.flatten(), torch.tensor([-0.5, 1.5, 7.0, 9.0]))
