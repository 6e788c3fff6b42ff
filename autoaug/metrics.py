"""Classification metrics computed from a confusion matrix, without warnings or NaN."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["auroc", "classification_metrics", "expected_calibration_error", "macro_auc", "unseen_auroc"]


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Element-wise ``numerator / denominator``, 0 where the denominator is 0."""
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1e-12), 0.0)


def classification_metrics(y_true: torch.Tensor, y_pred: torch.Tensor, class_names: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1 and per-class accuracy.

    Macro averages run over all ``class_names`` (as scikit-learn's with ``labels=range(K)`` and
    ``zero_division=0``): a class that is never predicted has precision 0, one absent from ``y_true``
    has recall 0.

    Args:
        y_true: True class indices, shape [N].
        y_pred: Predicted class indices, shape [N].
        class_names: Name of each class; index ``i`` is ``class_names[i]``.

    Returns:
        ``accuracy``, ``macro_f1``, ``macro_precision``, ``macro_recall`` and, per class,
        ``class_acc/<name>`` (the recall of that class).

    Raises:
        ValueError: If the inputs are empty, differ in length or hold an index outside the classes.

    Example:
        >>> m = classification_metrics(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), ["a", "b"])
        >>> m["accuracy"], m["class_acc/b"]
        (0.6666666666666666, 0.5)
    """
    num_classes = len(class_names)
    y_true, y_pred = y_true.flatten().long().cpu(), y_pred.flatten().long().cpu()
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise ValueError(f"need two equally long, non-empty label tensors, got {len(y_true)} and {len(y_pred)}")
    for labels in (y_true, y_pred):
        if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
            raise ValueError(f"class indices must lie in [0, {num_classes}) for {num_classes} class names")
    confusion = torch.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    confusion = confusion.reshape(num_classes, num_classes).double()
    hits = confusion.diagonal()
    precision = _ratio(hits, confusion.sum(dim=0))
    recall = _ratio(hits, confusion.sum(dim=1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    metrics = {
        "accuracy": float(hits.sum() / len(y_true)),
        "macro_f1": float(f1.mean()),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
    }
    metrics.update({f"class_acc/{name}": float(r) for name, r in zip(class_names, recall, strict=True)})
    return metrics


def auroc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve of ``scores`` at telling ``positive`` rows from the others (ties count half).

    Returns 0.5 when one of the two groups is empty (no ranking to judge).

    Example:
        >>> auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([False, False, True, True]))
        0.75
    """
    scores, positive = scores.flatten().double().cpu(), positive.flatten().bool().cpu()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    values, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    rank_sums = torch.zeros(len(values), dtype=scores.dtype).index_add_(0, inverse, ranks)
    ranks = (rank_sums / counts)[inverse]  # tied scores share their mean rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(probabilities: torch.Tensor, y_true: torch.Tensor) -> float:
    """Mean one-vs-rest ROC AUC over the classes present in ``y_true`` (probabilities [N, C], labels [N]).

    Example:
        >>> macro_auc(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), torch.tensor([0, 1, 1]))
        1.0
    """
    present = torch.unique(y_true).tolist()
    return sum(auroc(probabilities[:, c], y_true == c) for c in present) / len(present)


def expected_calibration_error(probabilities: torch.Tensor, y_true: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error: the confidence-accuracy gap over ``bins`` equal-width confidence bins,
    weighted by the share of samples in each.

    Example:
        >>> expected_calibration_error(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        0.5
    """
    confidence, predicted = probabilities.max(dim=1)
    hits = (predicted == y_true).double()
    which = torch.clamp((confidence.double() * bins).long(), max=bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += float(inside.sum()) * abs(float(confidence[inside].double().mean() - hits[inside].mean()))
    return gap / len(y_true)


def unseen_auroc(probabilities: torch.Tensor, unseen: torch.Tensor) -> float:
    """AUROC of the max-softmax score at telling samples of classes never trained on (``unseen``) from the
    others: a low top probability should flag an unseen class.

    Example:
        >>> unseen_auroc(torch.tensor([[0.9, 0.1], [0.55, 0.45]]), torch.tensor([False, True]))
        1.0
    """
    return auroc(-probabilities.max(dim=1).values, unseen)
