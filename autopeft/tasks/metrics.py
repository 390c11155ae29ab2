"""Official task metrics, computed with numpy/scipy only (no torch, no ``evaluate`` package).

Each metric takes ``predictions`` and ``references`` (label indices for classification, floats
for regression) and returns a float. :data:`METRICS` is the registry tasks refer to by name.
Degenerate inputs (a constant prediction vector for a correlation, an empty class for F1) give
0.0 rather than NaN, so a proxy score is always a number an optimiser can use; this matches
scikit-learn's ``zero_division=0`` convention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from autopeft._lazy import lazy_module

if TYPE_CHECKING:
    from scipy import stats as scipy_stats
else:
    scipy_stats = lazy_module("scipy.stats")


def _arrays(predictions: Sequence[Any], references: Sequence[Any], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    preds = np.asarray(predictions, dtype=dtype).reshape(-1)
    refs = np.asarray(references, dtype=dtype).reshape(-1)
    if preds.shape != refs.shape:
        raise ValueError(f"predictions has {preds.size} values but references has {refs.size}; pass one prediction per example")
    if preds.size == 0:
        raise ValueError("predictions is empty; evaluate at least one example")
    return preds, refs


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    preds, refs = _arrays(predictions, references, np.int64)
    return float(np.mean(preds == refs))


def _f1_of_class(preds: np.ndarray, refs: np.ndarray, positive: int) -> float:
    tp = float(np.sum((preds == positive) & (refs == positive)))
    fp = float(np.sum((preds == positive) & (refs != positive)))
    fn = float(np.sum((preds != positive) & (refs == positive)))
    denominator = 2 * tp + fp + fn
    return 0.0 if denominator == 0 else 2 * tp / denominator


def f1(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Binary F1 of class 1 (the positive class: MRPC "equivalent", QQP "duplicate")."""
    preds, refs = _arrays(predictions, references, np.int64)
    return _f1_of_class(preds, refs, 1)


def macro_f1(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Unweighted mean of per-class F1 over the classes present in references or predictions."""
    preds, refs = _arrays(predictions, references, np.int64)
    classes = np.union1d(preds, refs)
    return float(np.mean([_f1_of_class(preds, refs, int(c)) for c in classes]))


def matthews_correlation(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Matthews correlation coefficient (multi-class form of Gorodkin 2004; binary MCC for 2 classes)."""
    preds, refs = _arrays(predictions, references, np.int64)
    classes = np.union1d(preds, refs)
    index = {int(c): i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.float64)
    for p, r in zip(preds, refs):
        confusion[index[int(r)], index[int(p)]] += 1
    t = confusion.sum(axis=1)  # true occurrences per class
    p = confusion.sum(axis=0)  # predicted occurrences per class
    c = np.trace(confusion)
    s = confusion.sum()
    numerator = c * s - np.dot(t, p)
    denominator = np.sqrt((s * s - np.dot(p, p)) * (s * s - np.dot(t, t)))
    return 0.0 if denominator == 0 else float(numerator / denominator)


def pearson(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    preds, refs = _arrays(predictions, references, np.float64)
    preds = preds - preds.mean()
    refs = refs - refs.mean()
    denominator = np.sqrt(np.dot(preds, preds) * np.dot(refs, refs))
    return 0.0 if denominator == 0 else float(np.dot(preds, refs) / denominator)


def spearman(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Pearson correlation of the ranks (ties get their average rank)."""
    preds, refs = _arrays(predictions, references, np.float64)
    return pearson(scipy_stats.rankdata(preds), scipy_stats.rankdata(refs))


def mse(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    preds, refs = _arrays(predictions, references, np.float64)
    return float(np.mean((preds - refs) ** 2))


#: Metric name -> function(predictions, references) -> float.
METRICS: dict[str, Callable[[Sequence[Any], Sequence[Any]], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "macro_f1": macro_f1,
    "matthews_correlation": matthews_correlation,
    "pearson": pearson,
    "spearman": spearman,
    "mse": mse,
}


def compute(names: Sequence[str], predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
    """Every metric in ``names`` on the same predictions."""
    return {name: METRICS[name](predictions, references) for name in names}
