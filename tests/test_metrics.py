from __future__ import annotations

import warnings

import pytest
import torch
from sklearn import metrics as skm

from autoaug.metrics import classification_metrics

NAMES = ("zero", "one", "two", "three")


def _sklearn(y_true: torch.Tensor, y_pred: torch.Tensor) -> dict[str, float]:
    labels = list(range(len(NAMES)))
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    per_class = skm.recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "macro_f1": f1,
        "macro_precision": precision,
        "macro_recall": recall,
        **{f"class_acc/{name}": value for name, value in zip(NAMES, per_class, strict=True)},
    }


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_on_random_labels(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    y_true = torch.randint(len(NAMES), (200,), generator=generator)
    y_pred = torch.where(
        torch.rand(200, generator=generator) < 0.6, y_true, torch.randint(len(NAMES), (200,), generator=generator)
    )
    assert classification_metrics(y_true, y_pred, NAMES) == pytest.approx(_sklearn(y_true, y_pred))


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        ([0, 1, 2, 3, 0, 1], [0, 0, 0, 0, 0, 0]),  # classes never predicted
        ([0, 0, 1, 1], [0, 2, 1, 3]),  # classes absent from the truth
        ([2, 2, 2], [2, 2, 2]),  # perfect on one class only
    ],
)
def test_edge_cases_match_sklearn_without_warnings_or_nan(y_true: list[int], y_pred: list[int]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = classification_metrics(torch.tensor(y_true), torch.tensor(y_pred), NAMES)
    assert result == pytest.approx(_sklearn(torch.tensor(y_true), torch.tensor(y_pred)))
    assert not any(value != value for value in result.values())


def test_never_predicted_class_has_zero_precision() -> None:
    result = classification_metrics(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 0]), ["a", "b"])
    assert result["class_acc/b"] == 0.0
    assert result["macro_precision"] == pytest.approx((1 / 3 + 0) / 2)
    assert list(result) == ["accuracy", "macro_f1", "macro_precision", "macro_recall", "class_acc/a", "class_acc/b"]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [([], [], "non-empty"), ([0, 1], [0], "equally long"), ([0, 4], [0, 1], r"\[0, 4\)")],
)
def test_rejects_bad_input(y_true: list[int], y_pred: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classification_metrics(torch.tensor(y_true, dtype=torch.int64), torch.tensor(y_pred, dtype=torch.int64), NAMES)
