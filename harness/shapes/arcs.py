"""A head and a relation per word (`arcs`): KLUE-DP.

Examples hold `words`, `pos`, `heads` (0 = root, i = word i) and `deprels` (relation names), as KLUE-DP's
reader makes them; `label` is None (the gold travels in heads and deprels). Both modes score every
(dependent, head) pair with the biaffine parser of formats/dependency; scored by KLUE's UAS and LAS
macro F1.
"""
from __future__ import annotations

import numpy as np

from harness.errors import DataError
from harness.metrics.klue import CUT_OFF_HEAD, KEPT_RELATIONS, WRONG_HEAD, baseline_arcs, compute_dp_scores
from harness.resampling import ratio
from harness.runners.finetune import FinetuneDependencyRunner
from harness.runners.frozen import FrozenDependencyRunner
from harness.shapes import register
from harness.shapes.base import Shape


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
        """Per sentence: hits and gold + predicted counts per head class and per LAS relation class, and
        the words with a right head (and relation) for the micro scores. Head h counts as class h + 1, so
        CUT_OFF_HEAD (-1) is class 0."""
        index = task.label_ids
        gold_heads = [row["heads"] for row in rows]
        predicted_heads = [row["predicted_heads"] for row in rows]
        classes = max(max(max(h, default=0) for h in heads) for heads in (gold_heads, predicted_heads)) + 2
        relations = KEPT_RELATIONS + 2  # the kept ones, OTHERS, and WRONG_HEAD (last)
        statistics = []
        for row in rows:
            gold = baseline_arcs([row["heads"]], [[index[r] for r in row["deprels"]]], task.labels, "gold")
            predicted = baseline_arcs([row["predicted_heads"]], [[index[r] for r in row["predicted_deprels"]]],
                                      task.labels, "predicted")
            right_head = predicted.heads == gold.heads
            las = np.where(right_head, predicted.relations, WRONG_HEAD)
            las_classes = np.where(las == WRONG_HEAD, relations - 1, las)
            statistics.append(np.concatenate([
                macro_counts(gold.heads - CUT_OFF_HEAD, predicted.heads - CUT_OFF_HEAD, classes),
                macro_counts(gold.relations, las_classes, relations),
                [right_head.sum(), (las == gold.relations).sum(), len(gold.heads)]]))
        words = 2 * classes + 2 * relations + 2
        metrics = {
            "dp_uas_macro_f1": macro_from_counts(0, classes),
            "dp_las_macro_f1": macro_from_counts(2 * classes, relations),
            "dp_uas_micro_f1": ratio(words - 2, words),
            "dp_las_micro_f1": ratio(words - 1, words),
        }
        return [row["id"] for row in rows], statistics, metrics, {}, {}


def macro_counts(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Hits per class, then gold + predicted count per class: what metrics.klue's _macro_f1 reads."""
    return np.concatenate([np.bincount(gold[gold == predicted], minlength=k),
                           np.bincount(gold, minlength=k) + np.bincount(predicted, minlength=k)])


def macro_from_counts(offset: int, k: int) :
    """Mean over classes seen on either side of 2 hits / (gold + predicted count), as metrics.klue's _macro_f1."""
    def metric(sums):
        hits, counts = sums[:, offset:offset + k], sums[:, offset + k:offset + 2 * k]
        seen = counts > 0
        return 100.0 * (np.where(seen, 2 * hits / np.where(seen, counts, 1), 0.0).sum(axis=1) / seen.sum(axis=1))
    return metric


register(ArcsShape())
