"""Classification metrics computed from a confusion matrix, without warnings or NaN."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["classification_metrics"]


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
