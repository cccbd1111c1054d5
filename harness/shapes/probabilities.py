"""Class probabilities kept per example (`probabilities`): KLUE-RE, whose AUPRC ranks them.

Examples are one-label examples (the sentence with its subject and object marked); runners predict a
probability per class, the argmax is the label, and the probabilities stay in the prediction rows for
the ranking metric.
"""
from __future__ import annotations

import numpy as np

from harness.metrics.klue import NO_RELATION, compute_relation_scores
from harness.resampling import f1_from
from harness.runners.finetune import FinetuneProbabilityRunner
from harness.runners.frozen import FrozenProbabilityRunner
from harness.shapes import register
from harness.shapes.sequence import OneLabelShape, one_label_rows


class ProbabilitiesShape(OneLabelShape):
    name = "probabilities"
    frozen_runner = FrozenProbabilityRunner
    finetune_runner = FinetuneProbabilityRunner

    def score(self, task, examples, predictions, config):
        return compute_relation_scores(task.metrics, predictions, [ex["label"] for ex in examples], task.labels)

    def rows(self, task, examples, predictions, fold):
        rows = one_label_rows(task, examples, predictions.argmax(1), fold)
        for row, probabilities in zip(rows, predictions):
            row["probabilities"] = [round(float(p), 6) for p in probabilities]
        return rows

    def units(self, task, rows):
        """Per example: TP / FP / FN of the relations but no_relation (micro F1); AUPRC from the probabilities."""
        no_relation = task.labels.index(NO_RELATION)
        statistics = []
        for row in rows:
            gold, predicted = row["label"], int(np.argmax(row["probabilities"]))
            statistics.append([float(predicted == gold != no_relation), float(predicted != gold and predicted != no_relation),
                               float(predicted != gold and gold != no_relation)])
        columns = {"labels": np.array([row["label"] for row in rows]),
                   "probabilities": np.array([row["probabilities"] for row in rows], dtype=np.float64)}
        return ([row["id"] for row in rows], statistics, {"re_micro_f1": f1_from(0, 1, empty=0.0)}, columns,
                {"re_auprc": _weighted_auprc})


def _weighted_auprc(draws: np.ndarray, columns: dict) -> np.ndarray:
    """metrics.klue.re_auprc with each example weighted by how often the resample drew it."""
    import warnings

    from sklearn.metrics import auc, precision_recall_curve

    labels, probabilities = columns["labels"], columns["probabilities"]
    gold = np.eye(probabilities.shape[1], dtype=np.int64)[labels]
    out = np.empty(len(draws))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No positive class found")
        for r, weights in enumerate(draws):
            drawn = weights > 0
            areas = [auc(*precision_recall_curve(gold[drawn, c], probabilities[drawn, c],
                                                 sample_weight=weights[drawn])[1::-1])
                     for c in range(probabilities.shape[1])]
            out[r] = 100.0 * np.mean(areas)
    return out


register(ProbabilitiesShape())
