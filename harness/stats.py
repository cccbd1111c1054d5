"""Percentile bootstrap over evaluation examples: how much a score moves with the sample it was measured on.

Resampled indices depend only on (number of examples, resamples, seed), so two systems scored on
the same examples, in the same order, see the same resamples: that is the paired bootstrap, and a
system compared with itself gets a difference of exactly zero in every resample.

Every metric of harness.metrics is computed for all resamples at once (classification metrics
from one batched confusion matrix, correlations with numpy); a metric added later without a
vectorised form falls back to harness.metrics.compute_scores once per resample.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics import METRICS, compute_scores

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
_CHUNK_ELEMENTS = 1 << 22  # indices drawn per chunk: bounds memory for large evaluation sets


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval, on the metric's 0-100 scale."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def resample_chunks(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Iterator[np.ndarray]:
    """(rows, n) arrays of example indices drawn with replacement, `resamples` rows in all (checked at once)."""
    if n < 1:
        raise DataError("no examples to resample; the run scored an empty evaluation set")
    if resamples < 1:
        raise ConfigError(f"--resamples must be at least 1, got {resamples}")
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = max(1, min(resamples, _CHUNK_ELEMENTS // n))
    return (rng.integers(0, n, size=(min(rows, resamples - start), n)) for start in range(0, resamples, rows))


def distributions(metrics: Sequence[str], predictions, references, resamples: int = DEFAULT_RESAMPLES,
                  seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Each metric's value (0-100) on every resample: metric name -> array of `resamples` values."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; known metrics: {', '.join(sorted(METRICS))}")
    predictions, references = np.asarray(predictions), np.asarray(references)
    if predictions.ndim != 1 or predictions.shape != references.shape:
        raise DataError(f"predictions {predictions.shape} and references {references.shape} must be 1-D and "
                        "of one length; check that every example has one prediction and one label")
    chunks = resample_chunks(len(predictions), resamples, seed)
    classes = _class_cells(predictions, references) if set(metrics) & CONFUSION_METRICS.keys() else None
    parts: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for indices in chunks:
        if classes is not None:
            cells, k = classes
            confusion = _batched_confusion(cells[indices], k)
        for metric in metrics:
            if metric in CONFUSION_METRICS:
                values = CONFUSION_METRICS[metric](confusion) * 100.0
            elif metric in CORRELATION_METRICS:
                values = CORRELATION_METRICS[metric](predictions, references, indices) * 100.0
            else:
                values = np.array([compute_scores([metric], predictions[row], references[row])[metric]
                                   for row in indices])
            parts[metric].append(values)
    return {m: np.concatenate(chunks) for m, chunks in parts.items()}


def interval(estimate: float, distribution: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """The central `confidence` percentile interval of a bootstrap distribution."""
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(distribution, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high))


def bootstrap(metrics: Sequence[str], predictions, references, resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> dict[str, Interval]:
    """95% interval of each metric over evaluation examples, around the score on all of them."""
    estimates = compute_scores(list(metrics), np.asarray(predictions), np.asarray(references))
    spread = distributions(metrics, predictions, references, resamples, seed)
    return {m: interval(estimates[m], spread[m]) for m in metrics}


def paired_bootstrap(metrics: Sequence[str], predictions_a, predictions_b, references,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict[str, Interval]:
    """95% interval of (b minus a) per metric, both systems scored on the same resampled examples."""
    references = np.asarray(references)
    a = compute_scores(list(metrics), np.asarray(predictions_a), references)
    b = compute_scores(list(metrics), np.asarray(predictions_b), references)
    spread_a = distributions(metrics, predictions_a, references, resamples, seed)
    spread_b = distributions(metrics, predictions_b, references, resamples, seed)
    return {m: interval(b[m] - a[m], spread_b[m] - spread_a[m]) for m in metrics}


# --- vectorised metrics: same definitions and degenerate-case conventions as harness.metrics -------------


def _class_cells(predictions: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, int]:
    """Each example's confusion-matrix cell (reference * k + prediction) and the number of classes k."""
    preds, refs = predictions.astype(np.int64), references.astype(np.int64)
    low = int(min(preds.min(), refs.min()))
    if low < 0:
        raise DataError(f"class labels must be non-negative integers, got {low}; "
                        "map unparseable predictions to a valid class before scoring")
    k = max(int(max(preds.max(), refs.max())) + 1, 2)
    return refs * k + preds, k


def _batched_confusion(cells: np.ndarray, k: int) -> np.ndarray:
    """(resamples, k, k) confusion matrices, rows = references, from (resamples, n) cell ids."""
    rows = cells.shape[0]
    offsets = (np.arange(rows, dtype=np.int64) * (k * k))[:, None]
    counts = np.bincount((cells + offsets).ravel(), minlength=rows * k * k)
    return counts.reshape(rows, k, k).astype(np.float64)


def _accuracy(confusion: np.ndarray) -> np.ndarray:
    return np.einsum("bii->b", confusion) / confusion.sum(axis=(1, 2))


def _f1_per_class(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tp = np.einsum("bii->bi", confusion)
    denominator = confusion.sum(axis=1) + confusion.sum(axis=2)  # 2TP + FP + FN
    present = denominator > 0
    return np.where(present, 2 * tp / np.where(present, denominator, 1), 0.0), present


def _f1(confusion: np.ndarray) -> np.ndarray:
    if confusion.shape[1] > 2:
        raise DataError(f"f1 is binary but labels go up to {confusion.shape[1] - 1}; "
                        "use macro_f1 for multiclass tasks")
    return _f1_per_class(confusion)[0][:, 1]


def _macro_f1(confusion: np.ndarray) -> np.ndarray:
    scores, present = _f1_per_class(confusion)
    return (scores * present).sum(axis=1) / present.sum(axis=1)


def _mcc(confusion: np.ndarray) -> np.ndarray:
    truth, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    correct, total = np.einsum("bii->b", confusion), confusion.sum(axis=(1, 2))
    covariance = correct * total - (truth * predicted).sum(axis=1)
    denominator = (total**2 - (predicted**2).sum(axis=1)) * (total**2 - (truth**2).sum(axis=1))
    positive = denominator > 0
    return np.where(positive, covariance / np.sqrt(np.where(positive, denominator, 1)), 0.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation; 0.0 where a row is constant (undefined)."""
    constant = (x.max(axis=1) == x.min(axis=1)) | (y.max(axis=1) == y.min(axis=1))
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    safe = ~constant & (denominator > 0)
    return np.where(safe, (x * y).sum(axis=1) / np.where(safe, denominator, 1), 0.0)


def _resampled_ranks(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank, as scipy's rankdata) within each resample, without sorting.

    A resample holds only values of the full sample, so a value's rank is the count of smaller values
    drawn plus the mean position among its equals: cumulative counts over the sorted distinct values.
    """
    distinct, groups = np.unique(values, return_inverse=True)
    groups = groups.reshape(-1)[indices]
    rows, k = indices.shape[0], len(distinct)
    counts = np.bincount((groups + (np.arange(rows, dtype=np.int64) * k)[:, None]).ravel(), minlength=rows * k)
    counts = counts.reshape(rows, k).astype(np.float64)
    ranks = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.take_along_axis(ranks, groups, axis=1)


def _pearson_resampled(predictions: np.ndarray, references: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return _pearson(predictions.astype(np.float64)[indices], references.astype(np.float64)[indices])


def _spearman_resampled(predictions: np.ndarray, references: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return _pearson(_resampled_ranks(predictions, indices), _resampled_ranks(references, indices))


CONFUSION_METRICS = {"accuracy": _accuracy, "f1": _f1, "f1a": _f1, "macro_f1": _macro_f1, "mcc": _mcc, "r3": _mcc}
CORRELATION_METRICS = {"pearson": _pearson_resampled, "spearman": _spearman_resampled}
