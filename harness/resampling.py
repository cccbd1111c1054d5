"""Bootstrap for the scores that are not one label per example: per-unit statistics that add up.

A run's predictions file is turned by its task's shape (Shape.units) into units (an example, or a
group of examples where the task scores groups: a MultiRC question, an AX-g pair) each with a row of
additive statistics (true
positives per entity type, hits per head class, an example's exact match...), such that every
official metric is a function of their sum. A resample is then a vector of draw counts per unit,
and its statistics are one matrix product away: every score of every resample at once, computed as
the metric defines it on the resampled units (resampling whole groups keeps them intact).
The few metrics that do not add up (RE's AUPRC) are recomputed per resample with the draw counts as
sample weights.

Each shape's units are checked against the task's own scoring on the full sample (all draw counts 1).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness import stats
from harness.errors import DataError
from harness.shapes import shape_of
from harness.tasks import TaskSpec

Sums = Callable[[np.ndarray], np.ndarray]  # (resamples, k) summed statistics -> (resamples,) on 0-100
Weighted = Callable[[np.ndarray, dict], np.ndarray]  # (resamples, units) draw counts, columns -> (resamples,)


@dataclass(frozen=True)
class UnitSample:
    """Units sorted by id, their statistics (units, k), and each metric as a function of summed statistics."""

    ids: np.ndarray
    statistics: np.ndarray
    metrics: dict[str, Sums]
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # per-unit data the weighted metrics read
    weighted: dict[str, Weighted] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def restrict(self, ids: np.ndarray) -> UnitSample:
        """The units of these ids (sorted, all present): what two runs have in common."""
        positions = np.searchsorted(self.ids, ids)
        return UnitSample(self.ids[positions], self.statistics[positions], self.metrics,
                          {name: values[positions] for name, values in self.columns.items()}, self.weighted)

    def values(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric on each row of draw counts (resamples, units)."""
        sums = draws @ self.statistics
        out = {name: metric(sums) for name, metric in self.metrics.items()}
        out.update({name: metric(draws, self.columns) for name, metric in self.weighted.items()})
        return out


def unit_distributions(sample: UnitSample, scores: Sequence[str], resamples: int = stats.DEFAULT_RESAMPLES,
                       seed: int = stats.DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Each of `scores` the sample can recompute, on every resample of its units."""
    wanted = [s for s in scores if s in sample.metrics or s in sample.weighted]
    parts: dict[str, list[np.ndarray]] = {s: [] for s in wanted}
    n = len(sample)
    for indices in stats.resample_chunks(n, resamples, seed):
        offsets = (np.arange(len(indices), dtype=np.int64) * n)[:, None]
        draws = np.bincount((indices + offsets).ravel(), minlength=len(indices) * n).reshape(len(indices), n)
        values = sample.values(draws.astype(np.float64))
        for score in wanted:
            parts[score].append(values[score])
    return {s: np.concatenate(chunks) for s, chunks in parts.items()}


def unit_sample(task: TaskSpec, rows: list[dict]) -> UnitSample:
    """The units of a run's prediction rows, as the task's shape makes them."""
    ids, statistics, metrics, columns, weighted = shape_of(task).units(task, rows)
    order = np.argsort(ids, kind="stable")
    ids = np.asarray(ids)[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        raise DataError(f"{task.id}: unit id {ids[1:][ids[1:] == ids[:-1]][0]!r} appears more than once")
    return UnitSample(ids, np.asarray(statistics, dtype=np.float64)[order],
                      {m: f for m, f in metrics.items() if m in task.metrics},
                      {name: values[order] for name, values in columns.items()},
                      {m: f for m, f in weighted.items() if m in task.metrics})


# --- shared forms of metrics ----------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> Sums:
    """sum of one column over sum of another (a mean over units, or over examples in them)."""
    def metric(sums):
        return 100.0 * sums[:, numerator] / np.maximum(sums[:, denominator], 1e-300)
    return metric


def f1_from(offset: int, k: int, empty: float | None = None) -> Sums:
    """Mean F1 = 2TP / (2TP + FP + FN) over k classes whose TP, FP and FN columns start at offset, +k, +2k.

    empty: the value of a class with no TP, FP or FN, kept in the mean (sklearn's zero_division=1
    gives 1.0), or None to leave such classes out (seqeval, and sklearn's default label set); with
    no class left the mean is 0.
    """
    def metric(sums):
        tp, fp, fn = (sums[:, offset + j * k:offset + (j + 1) * k] for j in range(3))
        denominator = 2 * tp + fp + fn
        present = denominator > 0
        f1 = np.where(present, 2 * tp / np.where(present, denominator, 1), 0.0)
        if empty is not None:
            return 100.0 * np.where(present, f1, empty).mean(axis=1)
        kept = present.sum(axis=1)
        return 100.0 * np.where(kept > 0, f1.sum(axis=1) / np.maximum(kept, 1), 0.0)
    return metric


def class_counts(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """TP, FP, FN per class 0..k-1 of one unit's aligned gold and predicted classes: (3k,)."""
    hits = np.bincount(gold[gold == predicted], minlength=k)
    return np.concatenate([hits, np.bincount(predicted, minlength=k) - hits, np.bincount(gold, minlength=k) - hits])


def confusion_metric(metric: Callable[[np.ndarray], np.ndarray], k: int) -> Sums:
    """A stats.CONFUSION_METRICS function on the k x k confusion counts in the first k * k columns."""
    return lambda sums: 100.0 * metric(sums[:, :k * k].reshape(-1, k, k))


def spearman_drawn(draws: np.ndarray, columns: dict) -> np.ndarray:
    """stats' resampled Spearman (ranks within each resample), from draw counts turned back into indices."""
    units = np.arange(draws.shape[1])
    indices = np.stack([np.repeat(units, row.astype(np.int64)) for row in draws])
    return 100.0 * stats.CORRELATION_METRICS["spearman"](columns["predictions"], columns["labels"], indices)


def pearson_from_sums(sums: np.ndarray) -> np.ndarray:
    """Pearson r from n, sum x, sum y, sum x^2, sum y^2, sum xy (0.0 where a side is constant)."""
    n, x, y, xx, yy, xy = sums[:, :6].T
    covariance, vx, vy = n * xy - x * y, n * xx - x * x, n * yy - y * y
    denominator = np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0))
    defined = denominator > 1e-12 * np.maximum(n * n, 1)
    return 100.0 * np.where(defined, covariance / np.where(defined, denominator, 1), 0.0)


def sacrebleu_from_sums(metric, offset: int, width: int) -> Sums:
    def score(sums):
        return np.array([metric._compute_score_from_stats(list(row[offset:offset + width])).score for row in sums])
    return score


