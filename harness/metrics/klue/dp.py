"""KLUE-DP's metrics as KLUE's published baseline computes them (klue_baseline/metrics/functional.py, with
the sequences its models/dependency_parsing.py builds), as per-sentence statistics that add up: hits and
gold + predicted counts per head class and per LAS relation class (macro F1 reads their sums), and the
words with the right head (and relation).

What the baseline scores: one item per word (eojeol) of every sentence, sentences concatenated; the
root itself ([CLS], position 0) is never an item, and padded positions carry the gold head -1 and are
dropped from both sides by that gold mask, so only real words remain. A head is a position: 0 for the
root, i for the sentence's i-th word, and a predicted head is the arg-max over the root, the words and
any padding of the batch, so it can name a position no word holds. Relations are compared as classes
in the baseline's own label order (KLUE_DP_LABELS below, not the task's), which matters for LAS.

- dp_uas_macro_f1: every head position is a class. scikit-learn's f1_score(gold heads, predicted
  heads, average="macro") with its defaults: the classes are the head values seen in gold or
  predictions; each scores 2TP / (2TP + FP + FN), a class never predicted (or never gold) scoring 0;
  the unweighted mean of those. It is not UAS accuracy (that is dp_uas_micro_f1): a word attached to
  the root, to word 1 or to word 37 each counts toward its own class, so the rare far positions and the
  root (about one word per sentence) weigh as much as the crowded near ones, and positions are taken
  across sentences (head 3 of one sentence and head 3 of another are the same class). A predicted head
  that no gold word has (past the end of every sentence, say) adds a class scoring 0; so does
  CUT_OFF_HEAD (-1), the head decoding gives every word max_length cut off: never gold, so such a word is
  wrong for UAS, and -1 joins the class set as one more class with F1 0 (0 hits over its predicted count).
- dp_las_macro_f1: relations are classes, after two rewrites of the flattened labels. (1) Relations
  from the 16th of the baseline's order on (VP_CMP ... NP_SVJ: 23 rare ones) become one "others"
  class, on both sides, so mistaking one rare relation for another counts as correct. (2) Where the
  predicted head is wrong, the predicted relation becomes a "wrong head" class. Then the same macro F1
  over the classes seen on either side. The gold side never holds "wrong head", so as soon as one head
  is wrong that class joins the mean with F1 0: with K other classes present, LAS macro F1 stays below
  100 * K / (K + 1) unless every head is right. A relation predicted only at wrong heads never becomes
  a class of its own.
- dp_uas_micro_f1, dp_las_micro_f1: the baseline's micro variants of the same (micro F1 over every
  class is accuracy): the share of words with the right head; with the right head and the right
  relation after the "others" merge.

No departures: the functions score exactly the words they are given. The baseline never scores words
that max_length cut off (they never reach its word positions); the DP runners pass CUT_OFF_HEAD for
them, so they count as wrong for UAS and LAS alike (the root would be right for the last word of every
KLUE-DP dev sentence), and the result counts them (timings.truncated_words).

May import: numpy, harness.errors, harness.metrics.base. Imported by harness.metrics.klue.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics.base import Metric, check_names, class_counts, macro_f1_seen, table

# The 38 relations in the order of the baseline's label list: LAS keeps the first 15 apart and merges
# the rest into one "others" class, so the order is part of the metric.
KLUE_DP_LABELS = (
    "NP", "NP_AJT", "VP", "NP_SBJ", "VP_MOD", "NP_OBJ", "AP", "NP_CNJ", "NP_MOD", "VNP", "DP", "VP_AJT",
    "VNP_MOD", "NP_CMP", "VP_SBJ",
    "VP_CMP", "VP_OBJ", "VNP_CMP", "AP_MOD", "X_AJT", "VP_CNJ", "VNP_AJT", "IP", "X", "X_SBJ", "VNP_OBJ",
    "VNP_SBJ", "X_OBJ", "AP_AJT", "L", "X_MOD", "X_CNJ", "VNP_CNJ", "X_CMP", "AP_CMP", "AP_SBJ", "R", "NP_SVJ",
)
KEPT_RELATIONS = 15  # relations before this rank in KLUE_DP_LABELS stay classes of their own
OTHERS = KEPT_RELATIONS  # the class every later relation becomes
WRONG_HEAD = -2  # the class a predicted relation becomes where its head is wrong (never a gold class)
CUT_OFF_HEAD = -1  # the predicted head of a word max_length cut off: no gold head is negative, so always wrong


@dataclass(frozen=True)
class Arcs:
    """Every scored word, sentences concatenated: its head (0 = root, i = word i) and its relation class
    (the rank in KLUE_DP_LABELS below 15, else OTHERS)."""

    heads: np.ndarray  # int64
    relations: np.ndarray  # int64


def _int_array(values, where: str) -> np.ndarray:
    """A sentence's heads or relations (list, numpy array or torch tensor on any device) as 1-D int64."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise DataError(f"{where}: expected one integer per word, got an array of shape {array.shape} "
                        f"and dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def baseline_arcs(heads: Sequence, relations: Sequence, labels: Sequence[str], side: str) -> Arcs:
    """Per-sentence heads and relation indices (into `labels`) -> the flattened arcs the baseline scores."""
    if len(heads) != len(relations):
        raise DataError(f"{side}: {len(heads)} head sequences but {len(relations)} relation sequences")
    ranks = []
    for label in labels:
        if label not in KLUE_DP_LABELS:
            raise ConfigError(f"relation {label!r} is not one of KLUE-DP's {len(KLUE_DP_LABELS)} relations "
                              f"{list(KLUE_DP_LABELS)}; the DP metrics need the task's labels to be those")
        ranks.append(min(KLUE_DP_LABELS.index(label), OTHERS))
    ranks = np.asarray(ranks, dtype=np.int64)
    flat_heads, flat_relations = [], []
    for number, (sentence_heads, sentence_relations) in enumerate(zip(heads, relations)):
        where = f"{side}, sentence {number}"
        sentence_heads = _int_array(sentence_heads, where + " heads")
        sentence_relations = _int_array(sentence_relations, where + " relations")
        if len(sentence_heads) != len(sentence_relations):
            raise DataError(f"{where}: {len(sentence_heads)} heads for {len(sentence_relations)} relations; "
                            "every word needs exactly one of each")
        bad = sentence_relations[(sentence_relations < 0) | (sentence_relations >= len(labels))]
        if bad.size:
            raise DataError(f"{where}: relation index {int(bad[0])} is outside the {len(labels)} labels")
        flat_heads.append(sentence_heads)
        flat_relations.append(ranks[sentence_relations])
    return Arcs(np.concatenate(flat_heads) if flat_heads else np.zeros(0, np.int64),
                np.concatenate(flat_relations) if flat_relations else np.zeros(0, np.int64))


def _macro(part: str):
    """Macro F1 over the classes seen on either side, from one block of class counts."""
    def compute(sums, statistics):
        offset, k = statistics.layout[part]
        return macro_f1_seen(sums[:, offset:offset + k], sums[:, offset + k:offset + 2 * k])
    return compute


def _share(column: int):
    """Words with the right head (column 0) or the right head and relation (column 1), over all words."""
    def compute(sums, statistics):
        return sums[:, -3 + column] / sums[:, -1]
    return compute


DP_METRICS = {
    # every head position a class (KLUE's "UAS macro F1")
    "dp_uas_macro_f1": Metric("dp_uas_macro_f1", _macro("heads")),
    # relation classes, rare relations merged and wrong heads a class of their own (KLUE's "LAS macro F1")
    "dp_las_macro_f1": Metric("dp_las_macro_f1", _macro("relations")),
    # the share of words with the right head (plain UAS)
    "dp_uas_micro_f1": Metric("dp_uas_micro_f1", _share(0)),
    # the share of words with the right head and the right relation class (rare relations merged)
    "dp_las_micro_f1": Metric("dp_las_micro_f1", _share(1)),
}
RELATION_CLASSES = KEPT_RELATIONS + 2  # the kept ones, OTHERS, and WRONG_HEAD (counted last)


def dp_statistics(metric_names: Sequence[str], head_predictions: Sequence, head_references: Sequence,
                  relation_predictions: Sequence, relation_references: Sequence,
                  labels: Sequence[str] = KLUE_DP_LABELS):
    """Per sentence, from its heads (0 = root, i = word i; a predicted head may be CUT_OFF_HEAD) and relations
    (indices into `labels`, any order of KLUE-DP's relations): hits and gold + predicted counts per head
    class (head h is class h + 1, so CUT_OFF_HEAD is class 0), the same per LAS relation class, and the
    words with a right head, with a right head and relation, and all words. Lists, numpy arrays and torch
    tensors all work; every word of every sentence needs a prediction."""
    check_names(metric_names, DP_METRICS, "dependency-parsing")
    if len(head_predictions) != len(head_references):
        raise DataError(f"{len(head_predictions)} predicted sentences for {len(head_references)} gold ones; "
                        "every evaluated sentence needs exactly one prediction")
    for number, (predicted_heads, gold_heads) in enumerate(zip(head_predictions, head_references)):
        if len(predicted_heads) != len(gold_heads):
            raise DataError(f"sentence {number}: {len(predicted_heads)} predicted heads for {len(gold_heads)} words; "
                            "decoding must give every word exactly one head and relation")
    gold = baseline_arcs(head_references, relation_references, labels, "gold")
    predicted = baseline_arcs(head_predictions, relation_predictions, labels, "predicted")
    if len(gold.heads) == 0:
        raise DataError("no words to score")
    if (gold.heads < 0).any():
        raise DataError("a gold head is negative; gold heads are 0 (root) or a word index, with no padding")
    heads = max(int(gold.heads.max()), int(predicted.heads.max())) + 2
    ends = np.cumsum([len(sentence) for sentence in head_references])[:-1]
    rows = []
    for gold_heads, gold_relations, predicted_heads, predicted_relations in zip(
            *(np.split(values, ends) for values in (gold.heads, gold.relations, predicted.heads, predicted.relations))):
        right_head = predicted_heads == gold_heads
        las = np.where(right_head, predicted_relations, WRONG_HEAD)
        rows.append(np.concatenate([
            class_counts(gold_heads - CUT_OFF_HEAD, predicted_heads - CUT_OFF_HEAD, heads),
            class_counts(gold_relations, np.where(las == WRONG_HEAD, RELATION_CLASSES - 1, las), RELATION_CLASSES),
            [right_head.sum(), (las == gold_relations).sum(), len(gold_heads)]]))
    return table((DP_METRICS[n] for n in metric_names), rows, heads=(0, heads),
                 relations=(2 * heads, RELATION_CLASSES))


def compute_dp_scores(metric_names: Sequence[str], head_predictions: Sequence, head_references: Sequence,
                      relation_predictions: Sequence, relation_references: Sequence,
                      labels: Sequence[str] = KLUE_DP_LABELS) -> dict[str, float]:
    """Score per-sentence heads and relations (as dp_statistics reads them) with each named metric, 0-100."""
    return dp_statistics(metric_names, head_predictions, head_references, relation_predictions,
                         relation_references, labels).scores()
