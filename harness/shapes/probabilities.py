"""Class probabilities kept per example (`probabilities`): KLUE-RE, whose AUPRC ranks them.

Examples are one-label examples (the sentence with its subject and object marked); runners predict a
probability per class, the argmax is the label, and the probabilities stay in the prediction rows for
the ranking metric.
"""
from __future__ import annotations

import numpy as np

from harness.metrics.klue import compute_relation_scores, relation_statistics
from harness.runners.finetune import FinetuneProbabilityRunner
from harness.runners.frozen import FrozenProbabilityRunner
from harness.shapes import register
from harness.shapes.sequence import OneLabelShape, one_label_rows


class ProbabilitiesShape(OneLabelShape):
    name = "probabilities"
    frozen_runner = FrozenProbabilityRunner
    finetune_runner = FinetuneProbabilityRunner

    def baseline(self, task, train):
        """Each class's share of the training examples as its probability, for every example: the most frequent
        class is the label, and the ranking metric ranks every example alike."""
        shares = np.bincount([ex["label"] for ex in train], minlength=len(task.labels)) / len(train)
        return lambda examples: np.tile(shares, (len(examples), 1))

    def score(self, task, examples, predictions, config):
        return compute_relation_scores(task.metrics, predictions, [ex["label"] for ex in examples], task.labels)

    def rows(self, task, examples, predictions, fold):
        rows = one_label_rows(task, examples, predictions.argmax(1), fold)
        for row, probabilities in zip(rows, predictions):
            row["probabilities"] = [round(float(p), 6) for p in probabilities]
        return rows

    def units(self, task, rows):
        """Per example: relation counts for micro F1, and its probabilities for AUPRC (harness.metrics.klue.relations)."""
        return [row["id"] for row in rows], [relation_statistics(
            task.metrics, [row["probabilities"] for row in rows], [row["label"] for row in rows], task.labels)]

    def metric_inputs(self, task):
        """Every class's probability per example, and the gold class index."""
        return {"predictions": ("probabilities", ["float64"]), "references": ("label", "int64")}

    def trainer_rows(self, task, examples, tokenizer, max_length):
        """Logits -> each class's probability (softmax); the label ids are the gold."""
        def rows(outputs, label_ids):
            logits = np.asarray(outputs, dtype=np.float64)
            probabilities = np.exp(logits - logits.max(-1, keepdims=True))
            probabilities /= probabilities.sum(-1, keepdims=True)
            return [{"id": i, "probabilities": p, "label": g}
                    for i, (p, g) in enumerate(zip(probabilities.tolist(), np.asarray(label_ids).tolist()))]
        return rows


register(ProbabilitiesShape())
