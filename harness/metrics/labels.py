"""One label or score per example: GLUE's and SuperGLUE's classification and correlation metrics, KLUE-STS's
binary F1, and the group metrics of MultiRC and AX-g, as per-unit statistics (harness.metrics.base).

GLUE's reference implementation scores with scikit-learn and scipy; these reproduce its numbers (to
~1e-12), with two conventions of their own:

* Classification metrics read one confusion matrix (rows = references, columns = predictions; its
  class count is max(label) + 1, at least 2: classes absent on both sides change no metric). Each example
  adds its cell; MultiRC and AX-g add a group's cells at once.
* A correlation of a constant column is undefined (0 / 0), and so is it here: NaN, never a number. That is
  Pearson and Spearman with constant predictions or gold scores (scipy's NaN too), and MCC / R3 with one
  class predicted or one class in the gold labels (where sklearn and GLUE's scorer say 0), which includes
  every evaluation of a single example. The run flags it (Scores.flags), writes null, and renderers show
  "undefined"; averages that take it in (the main score, seed means, suite scores) are undefined too. F1
  with no positive prediction or reference stays 0.0 (sklearn's zero_division default): an F1 of 0 is
  what predicting no positives measures.

Pearson adds up as (n, sum x, sum y, sum x^2, sum y^2, sum xy) of values shifted by the sample's first
value (exact zeros for a constant side, no cancellation for scores far from 0). Spearman does not add
up (ranks depend on the whole resample): it ranks each resample's draws (average rank for ties, as
scipy) and correlates the ranks.

May import: numpy, harness.errors, harness.metrics.base and .scores. Imported by harness.metrics (the package).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics.base import Metric, Statistics, check_names, f1_per_class, scores_of, table
from harness.metrics.scores import Scores, flag

KLUE_STS_THRESHOLD = 3.0
CORRELATION_TOLERANCE = 1e-12  # a side whose variance is below this share of its second moment is constant


# --- confusion counts -----------------------------------------------------------------------------


def _confusion(sums: np.ndarray, statistics: Statistics) -> np.ndarray:
    k = statistics.layout["classes"]
    return sums[:, :k * k].reshape(-1, k, k)


def _accuracy(sums, statistics):
    confusion = _confusion(sums, statistics)
    return np.einsum("bii->b", confusion) / confusion.sum(axis=(1, 2))


def _class_f1(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return f1_per_class(np.einsum("bii->bi", confusion), confusion.sum(axis=1) + confusion.sum(axis=2))


def _f1(sums, statistics):
    """Binary F1 of the positive class 1 (MRPC, QQP); 0.0 when it never occurs."""
    confusion = _confusion(sums, statistics)
    if confusion.shape[1] > 2:
        raise DataError(f"f1 is binary but labels go up to {confusion.shape[1] - 1}; "
                        "use macro_f1 for multiclass tasks")
    return _class_f1(confusion)[0][:, 1]


def _macro_f1(sums, statistics):
    """Unweighted mean F1 over classes seen in predictions or references (sklearn's label set)."""
    scores, present = _class_f1(_confusion(sums, statistics))
    return (scores * present).sum(axis=1) / present.sum(axis=1)


def _mcc(sums, statistics):
    """Matthews correlation (Gorodkin's multiclass form; the binary formula for 2 classes); NaN when either
    column is constant, where it is undefined."""
    confusion = _confusion(sums, statistics)
    truth, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    correct, total = np.einsum("bii->b", confusion), confusion.sum(axis=(1, 2))
    covariance = correct * total - (truth * predicted).sum(axis=1)
    denominator = (total**2 - (predicted**2).sum(axis=1)) * (total**2 - (truth**2).sum(axis=1))
    positive = denominator > 0
    return np.where(positive, covariance / np.sqrt(np.where(positive, denominator, 1)), np.nan)


CONFUSION_METRICS = {
    "accuracy": Metric("accuracy", _accuracy),
    "f1": Metric("f1", _f1),
    "f1a": Metric("f1a", _f1),  # SuperGLUE's name for MultiRC's binary F1 over every answer option
    "macro_f1": Metric("macro_f1", _macro_f1),
    "mcc": Metric("mcc", _mcc),
    "r3": Metric("r3", _mcc),  # GLUE's diagnostic R3: multiclass Matthews correlation over the 3 NLI labels
}


def _cells(predictions: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, int]:
    """Each example's confusion cell (reference * k + prediction) and the class count k."""
    preds, refs = predictions.astype(np.int64), references.astype(np.int64)
    low = int(min(preds.min(), refs.min()))
    if low < 0:
        raise DataError(f"class labels must be non-negative integers, got {low}; "
                        "map unparseable predictions to a valid class before scoring")
    k = max(int(max(preds.max(), refs.max())) + 1, 2)
    return refs * k + preds, k


def confusion_statistics(names: Sequence[str], predictions: np.ndarray, references: np.ndarray) -> Statistics:
    """Per example: its confusion cell, one-hot."""
    cells, k = _cells(predictions, references)
    return table((CONFUSION_METRICS[n] for n in names), np.eye(k * k)[cells], classes=k)


def _sts_binary_f1(sums, statistics):
    return _class_f1(sums.reshape(-1, 2, 2))[0][:, 1]


STS_BINARY_F1 = Metric("sts_binary_f1", _sts_binary_f1)


def threshold_statistics(predictions: np.ndarray, references: np.ndarray) -> Statistics:
    """KLUE-STS binary F1: per example, the confusion cell of predicted and gold scores both cut at 3.0
    (>= 3.0 is "similar")."""
    cells = 2 * (references >= KLUE_STS_THRESHOLD) + (predictions >= KLUE_STS_THRESHOLD)
    return table([STS_BINARY_F1], np.eye(4)[cells.astype(np.int64)])


# --- correlations ---------------------------------------------------------------------------------


def _pearson_sums(sums, statistics):
    n, x, y, xx, yy, xy = sums.T
    vx, vy = n * xx - x * x, n * yy - y * y
    defined = (vx > CORRELATION_TOLERANCE * n * xx) & (vy > CORRELATION_TOLERANCE * n * yy)
    return np.where(defined, (n * xy - x * y) / np.sqrt(np.where(defined, vx * vy, 1)), np.nan)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of (resamples, n) values; NaN where a row is constant."""
    constant = (x.max(axis=1) == x.min(axis=1)) | (y.max(axis=1) == y.min(axis=1))
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    safe = ~constant & (denominator > 0)
    return np.where(safe, (x * y).sum(axis=1) / np.where(safe, denominator, 1), np.nan)


def drawn_indices(draws: np.ndarray) -> np.ndarray:
    """Draw counts (resamples, units), each row drawing as many units as there are, back into unit indices."""
    units = np.arange(draws.shape[1])
    return np.stack([np.repeat(units, row.astype(np.int64)) for row in draws])


def _resampled_ranks(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank, as scipy's rankdata) within each resample, without sorting:
    a value's rank is the count of smaller values drawn plus its mean position among its equals."""
    distinct, groups = np.unique(values, return_inverse=True)
    groups = groups.reshape(-1)[indices]
    rows, k = indices.shape[0], len(distinct)
    counts = np.bincount((groups + (np.arange(rows, dtype=np.int64) * k)[:, None]).ravel(), minlength=rows * k)
    counts = counts.reshape(rows, k).astype(np.float64)
    ranks = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.take_along_axis(ranks, groups, axis=1)


def _spearman(draws, statistics):
    """Pearson on average ranks within each resample, so ties match scipy."""
    indices = drawn_indices(draws)
    x, y = statistics.columns["predictions"], statistics.columns["labels"]
    return _pearson_rows(_resampled_ranks(x, indices), _resampled_ranks(y, indices))


CORRELATION_METRICS = {"pearson": Metric("pearson", _pearson_sums),
                       "spearman": Metric("spearman", _spearman, additive=False)}


def correlation_statistics(names: Sequence[str], predictions: np.ndarray, references: np.ndarray) -> Statistics:
    """Per example: Pearson's moments of the shifted values; both values kept for Spearman's ranks."""
    x, y = predictions.astype(np.float64), references.astype(np.float64)
    dx, dy = x - x[0], y - y[0]
    rows = np.stack([np.ones_like(dx), dx, dy, dx * dx, dy * dy, dx * dy], axis=1)
    return Statistics(tuple(CORRELATION_METRICS[n] for n in names), rows, {}, {"predictions": x, "labels": y})


# --- groups ---------------------------------------------------------------------------------------


def _group_share(column: int):
    def compute(sums, statistics):
        at = statistics.layout["classes"] ** 2
        return sums[:, at + column] / sums[:, at + 2]
    return compute


GROUP_METRICS = {
    # MultiRC EM: the share of groups (questions) whose every decision (answer option) is right
    "em": Metric("em", _group_share(0)),
    # AX-g: the share of groups (pairs that differ only in the pronoun's gender) predicted alike
    "gender_parity": Metric("gender_parity", _group_share(1)),
}


def group_statistics(names: Sequence[str], predictions: np.ndarray, references: np.ndarray,
                     groups: Sequence) -> tuple[list, Statistics]:
    """Per group, in order of first appearance: its confusion counts, whether all its decisions are right,
    whether its predictions all agree, and 1. Returns the group ids and the table."""
    if len(groups) != len(predictions):
        raise DataError(f"{len(groups)} group ids for {len(predictions)} predictions; every example needs its "
                        "group (the question of a MultiRC answer, the pair of an AX-g example)")
    where: dict = {}
    index = np.array([where.setdefault(group, len(where)) for group in groups], dtype=np.int64)
    ids = list(where)
    cells, k = _cells(predictions, references)
    count = len(ids)
    confusion = np.bincount(index * k * k + cells, minlength=count * k * k).reshape(count, k * k)
    wrong = np.bincount(index, weights=(cells // k != cells % k), minlength=count)
    predicted = np.bincount(index * k + cells % k, minlength=count * k).reshape(count, k)
    rows = np.concatenate([confusion, np.stack([wrong == 0, (predicted > 0).sum(axis=1) == 1,
                                                np.ones(count)], axis=1)], axis=1)
    metrics = {**CONFUSION_METRICS, **GROUP_METRICS}
    return ids, table((metrics[n] for n in names), rows, classes=k)


# --- scoring --------------------------------------------------------------------------------------

METRICS = {**CONFUSION_METRICS, **CORRELATION_METRICS, "sts_binary_f1": STS_BINARY_F1}
FLOAT_METRICS = frozenset({*CORRELATION_METRICS, "sts_binary_f1"})  # read real values, not class ids


def label_statistics(names: Sequence[str], predictions, references, groups: Sequence | None = None
                     ) -> tuple[list | None, list[Statistics]]:
    """The tables that hold the named metrics of these labels: (group ids, tables) where groups are given
    (every metric then counts whole groups), else (None, tables of one unit per example)."""
    check_names(names, {**METRICS, **GROUP_METRICS})
    predictions, references = _array(predictions), _array(references)
    if predictions.size == 0 or references.size == 0:
        raise DataError("no examples to score")
    if predictions.ndim != 1 or predictions.shape != references.shape:
        raise DataError(f"predictions {predictions.shape} and references {references.shape} must be 1-D and of "
                        "one length; check that every example produced exactly one prediction and one label")
    for side, values in (("prediction", predictions), ("reference", references)):
        _check_finite(side, values)
    if any(n in CONFUSION_METRICS for n in names):
        for side, values in (("prediction", predictions), ("reference", references)):
            check_class_ids(side, values)
    grouped = [n for n in names if n in GROUP_METRICS]
    if groups is not None:
        outside = [n for n in names if n not in CONFUSION_METRICS and n not in GROUP_METRICS]
        if outside:
            raise ConfigError(f"{', '.join(outside)} cannot be scored over groups of examples")
        ids, statistics = group_statistics(names, predictions, references, groups)
        return ids, [statistics]
    if grouped:
        raise ConfigError(f"{', '.join(grouped)} score groups of examples; the task's examples need a 'group' field")
    tables = []
    confusion = [n for n in names if n in CONFUSION_METRICS]
    if confusion:
        tables.append(confusion_statistics(confusion, predictions, references))
    correlations = [n for n in names if n in CORRELATION_METRICS]
    if correlations:
        tables.append(correlation_statistics(correlations, predictions, references))
    if "sts_binary_f1" in names:
        tables.append(threshold_statistics(predictions.astype(np.float64), references.astype(np.float64)))
    return None, tables


def compute_scores(metric_names: Sequence[str], predictions, references, groups: Sequence | None = None) -> Scores:
    """Score predictions against references with each named metric, on a 0-100 scale.

    Inputs may be lists, numpy arrays or tensors. `groups` (any hashable id per example) serve the
    GROUP_METRICS. Correlations left undefined (NaN) by a constant column are flagged.
    """
    _, tables = label_statistics(metric_names, predictions, references, groups)
    scores = scores_of(tables, metric_names)
    return Scores(scores, _undefined_correlations(scores, predictions, references))


def score_examples(metric_names: Sequence[str], examples: list[dict], predictions) -> Scores:
    """compute_scores against one-label examples' `label` (and `group`, where they have one)."""
    references = np.array([ex["label"] for ex in examples])
    groups = [ex["group"] for ex in examples] if examples and "group" in examples[0] else None
    return compute_scores(metric_names, predictions, references, groups)


def _array(values) -> np.ndarray:
    """Lists, numpy arrays and tensors on any device, as numpy."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    return array.astype(np.float64) if array.dtype == np.float32 else array


def _check_finite(side: str, values: np.ndarray) -> None:
    """DataError naming the first NaN or infinite value: no metric scores one (scipy's Spearman would say NaN,
    a rank would put it anywhere)."""
    if values.dtype.kind not in "fc":
        return
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(f"{side} {bad[0]} is {float(values[bad[0]].real)} ({bad.size} non-finite {side}s in all); every "
                        f"{side} must be a finite number: check the model's outputs for overflow or missing values")


def check_class_ids(side: str, values: np.ndarray) -> None:
    """DataError naming the first value that is no class id: probabilities passed for class ids would
    otherwise be cut to 0 and scored."""
    if values.dtype.kind != "f":
        return
    bad = np.flatnonzero(values != np.round(values))
    if bad.size:
        raise DataError(f"{side} {bad[0]} is {float(values[bad[0]]):g}, not a class id; classification metrics take "
                        "class ids (integers): pass the arg-max of probabilities or logits, not the values")


def _undefined_correlations(scores: dict[str, float], predictions, references) -> list[dict]:
    """One flag naming the correlations left undefined (NaN) and why: a constant column."""
    undefined = [name for name, value in scores.items() if np.isnan(value)]
    if not undefined:
        return []
    constant = [side for side, values in (("predictions", predictions), ("gold labels", references))
                if np.ptp(_array(values)) == 0] or ["predictions or gold labels (nearly)"]
    return [flag("undefined_correlation", f"the {' and the '.join(constant)} are constant, so "
                 f"{' and '.join(undefined)} {'is' if len(undefined) == 1 else 'are'} undefined and left without "
                 "a score")]
