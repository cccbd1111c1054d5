"""KLUE-RE's metrics as KLUE's published baseline computes them: micro F1 from per-example counts that add
up, and AUPRC, which does not add up (a precision-recall curve needs every example's probability), computed
directly with each example weighted by how often a resample drew it.

- re_micro_f1: scikit-learn's f1_score(gold, arg-max prediction, average="micro", labels=every relation but
  no_relation): pooled over the 29 relations, so a no_relation example predicted as a relation is a
  false positive, a relation predicted as no_relation a false negative, and no_relation itself
  never a true positive.
- re_auprc: per class, the area under the precision-recall curve of that class's probability against
  "is this class" (precision_recall_curve, then auc(recall, precision): the trapezoidal area, not
  average precision), averaged over all classes, no_relation included. A class absent from the
  gold labels has no curve; the baseline's scikit-learn gave NaN there, the current one a precision
  of 0 at recall 1, which scores 0.5 whatever the probabilities. KLUE-RE's dev set holds every class;
  a holdout or capped eval may not, so the score keeps that fixed 0.5 per absent class (the baseline's
  definition) and is flagged (`absent_gold_classes`) saying how many classes it covers.

May import: numpy, scikit-learn (when scoring), harness.errors, harness.metrics.base and .scores.
Imported by harness.metrics.klue.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics.base import Metric, Statistics, check_names, f1_per_class
from harness.metrics.scores import Scores, flag

NO_RELATION = "no_relation"


def _micro_f1(sums, statistics):
    """Pooled over the relations but no_relation: 2TP / (2TP + FP + FN), 0 where nothing counts."""
    return f1_per_class(sums[:, 0], sums[:, 1])[0]


def _auprc(draws, statistics):
    """Per class, the trapezoidal area under its precision-recall curve, drawn examples weighted by their
    draw counts; the mean over all classes."""
    from sklearn.metrics import auc, precision_recall_curve

    labels, probabilities = statistics.columns["labels"], statistics.columns["probabilities"]
    gold = np.eye(probabilities.shape[1], dtype=np.int64)[labels]
    out = np.empty(len(draws))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No positive class found")
        for r, weights in enumerate(draws):
            drawn = weights > 0
            areas = [auc(*precision_recall_curve(gold[drawn, c], probabilities[drawn, c],
                                                 sample_weight=weights[drawn])[1::-1])
                     for c in range(probabilities.shape[1])]
            out[r] = np.mean(areas)
    return out


RELATION_METRICS = {"re_micro_f1": Metric("re_micro_f1", _micro_f1),
                    "re_auprc": Metric("re_auprc", _auprc, additive=False)}


def relation_statistics(metric_names: Sequence[str], probabilities, references, labels: Sequence[str]) -> Statistics:
    """Per example: whether its arg-max is a right relation (not no_relation), and how many of its gold and
    predicted classes are relations (2TP + FP + FN added up); the probabilities and gold class for AUPRC."""
    check_names(metric_names, RELATION_METRICS, "relation")
    if "re_micro_f1" in metric_names and NO_RELATION not in labels:
        raise ConfigError(f"re_micro_f1 leaves out {NO_RELATION!r}, which is not among the task's labels")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    references = np.asarray(references, dtype=np.int64)
    if probabilities.ndim != 2 or probabilities.shape != (len(references), len(labels)):
        raise DataError(f"expected probabilities of shape ({len(references)}, {len(labels)}), "
                        f"got {probabilities.shape}")
    if not len(references):
        raise DataError("no examples to score")
    none = list(labels).index(NO_RELATION) if NO_RELATION in labels else -1
    predicted = probabilities.argmax(1)
    rows = np.stack([(predicted == references) & (references != none),
                     (predicted != none).astype(int) + (references != none)], axis=1)
    return Statistics(tuple(RELATION_METRICS[n] for n in metric_names), rows.astype(np.float64), {},
                      {"labels": references, "probabilities": probabilities})


def compute_relation_scores(metric_names: Sequence[str], probabilities, references, labels: Sequence[str]
                            ) -> Scores:
    """Score class probabilities (examples, classes) against gold class indices, on a 0-100 scale;
    AUPRC over classes absent from the gold labels is flagged."""
    statistics = relation_statistics(metric_names, probabilities, references, labels)
    return Scores(statistics.scores(), _absent_gold_classes(metric_names, statistics.columns["labels"], labels))


def _absent_gold_classes(metric_names: Sequence[str], references: np.ndarray, labels: Sequence[str]) -> list[dict]:
    """One flag when re_auprc averages in classes that no gold example holds (each a fixed 0.5)."""
    present = set(references.tolist())
    absent = [label for index, label in enumerate(labels) if index not in present]
    if "re_auprc" not in metric_names or not absent:
        return []
    return [flag("absent_gold_classes", f"{len(absent)} of {len(labels)} classes never occur in the gold labels "
                 f"({', '.join(absent)}); each adds a fixed 0.5 to re_auprc's class mean, as KLUE's baseline "
                 "defines it")]
