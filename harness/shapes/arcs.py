"""A head and a relation per word (`arcs`): KLUE-DP.

Examples hold `words`, `pos`, `heads` (0 = root, i = word i) and `deprels` (relation names), as KLUE-DP's
reader makes them; `label` is None (the gold travels in heads and deprels). Both modes score every
(dependent, head) pair with the biaffine parser of heads/arcs.py, on word vectors formats/dependency picks
(frozen mode: under a token encoder, heads/token_encoders.py); scored by KLUE's UAS and LAS macro F1.
"""
from __future__ import annotations

import numpy as np

from harness.errors import DataError
from harness.metrics.klue import compute_dp_scores, dp_statistics
from harness.runners.finetune_tokens import FinetuneDependencyRunner
from harness.runners.frozen_tokens import FrozenDependencyRunner
from harness.shapes import register
from harness.shapes.base import Shape, most_frequent


class ArcsShape(Shape):
    name = "arcs"
    input_fields = ("words",)
    truncated_unit = "words"
    hub_task = ("token-classification", "Token Classification")
    frozen_runner = FrozenDependencyRunner
    finetune_runner = FinetuneDependencyRunner

    def read(self, task, values, example_id, where):
        """A Hub row with a word form, head and relation per word (relations as names or ClassLabel indices)."""
        words, heads, deprels = list(values["words"]), [int(h) for h in values["heads"]], list(values["deprels"])
        if not len(words) == len(heads) == len(deprels):
            raise DataError(f"{where}: {len(words)} words, {len(heads)} heads and {len(deprels)} relations; "
                            "every word needs exactly one head and one relation")
        deprels = [task.labels[d] if isinstance(d, int) else d for d in deprels]
        for position, (head, deprel) in enumerate(zip(heads, deprels), start=1):
            if not 0 <= head <= len(words):
                raise DataError(f"{where}, word {position}: head {head} points outside its sentence of {len(words)} "
                                f"words; a head is a word index 1..{len(words)}, or 0 for the root")
            if deprel not in task.labels:
                raise DataError(f"{where}, word {position}: relation {deprel!r} is not in {task.id}'s label set")
        return {"id": example_id, "text": " ".join(words), "words": words, "pos": list(values.get("pos", [])),
                "heads": heads, "deprels": deprels, "label": None}

    def baseline(self, task, train):
        """The most frequent head rule of the training sentences: every word's head at the most frequent offset
        from it (Korean is head-final: the next word), the root where that falls outside the sentence; the most
        frequent relation of the training roots for a root, of the other words otherwise."""
        arcs = [(position, head, deprel) for ex in train
                for position, (head, deprel) in enumerate(zip(ex["heads"], ex["deprels"]), start=1)]
        offset = most_frequent([head - position for position, head, _ in arcs if head != 0])
        index = task.label_ids
        root = index[most_frequent([deprel for _, head, deprel in arcs if head == 0])]
        attached = index[most_frequent([deprel for _, head, deprel in arcs if head != 0])]

        def predict(examples):
            heads = [np.array([p + offset if 1 <= p + offset <= len(ex["words"]) else 0
                               for p in range(1, len(ex["words"]) + 1)], dtype=np.int64) for ex in examples]
            return heads, [np.where(h == 0, root, attached).astype(np.int64) for h in heads]
        return predict

    def score(self, task, examples, predictions, config):
        heads, relations = predictions
        index = task.label_ids
        return compute_dp_scores(task.metrics, heads, [ex["heads"] for ex in examples], relations,
                                 [[index[r] for r in ex["deprels"]] for ex in examples], task.labels)

    def rows(self, task, examples, predictions, fold):
        """Per word: gold and predicted head (0 = root) and relation name."""
        heads, relations = predictions
        return [{"id": ex["id"], "fold": fold, "words": ex["words"], "heads": ex["heads"], "deprels": ex["deprels"],
                 "predicted_heads": heads[i].tolist(), "predicted_deprels": [task.labels[r] for r in relations[i]]}
                for i, ex in enumerate(examples)]

    def units(self, task, rows):
        """Per sentence: head and relation class counts and right words (harness.metrics.klue.dp)."""
        index = task.label_ids
        return [row["id"] for row in rows], [dp_statistics(
            task.metrics, [row["predicted_heads"] for row in rows], [row["heads"] for row in rows],
            [[index[r] for r in row["predicted_deprels"]] for row in rows],
            [[index[r] for r in row["deprels"]] for row in rows], task.labels)]

    def metric_inputs(self, task):
        """Per word of each sentence: the predicted and gold head (0 = root, i = word i) and relation name."""
        return {"predictions": ("predicted_heads", ["int64"]), "references": ("heads", ["int64"]),
                "predicted_relations": ("predicted_deprels", ["string"]), "reference_relations": ("deprels", ["string"])}


register(ArcsShape())
