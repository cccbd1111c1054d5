"""KLUE-NER and KLUE-DP metrics, computed as KLUE's published baseline computes them (klue_baseline/
metrics/functional.py, with the sequences its models/named_entity_recognition.py and
models/dependency_parsing.py build).

## KLUE-NER

What the baseline scores: each sentence's characters except spaces (its reader drops " "; the files
tag a space inside an entity I-X, so dropping it keeps the entity whole), wrapped in the [CLS] and
last positions, whose gold tag is O; all sentences flattened into one sequence. Those two positions
are O on both sides here (the baseline trains them as O and scores the model's prediction there);
they keep an entity from running across a sentence boundary and add two true O's per sentence.

- ner_entity_macro_f1: seqeval's f1_score with average="macro", mode="strict", scheme=IOB2: an
  entity counts only with its exact span and type, and an I-X with no B-X before it starts none.
  The macro mean runs over the entity types seen in references or predictions. seqeval gets the
  flattened sequence cut back into its sentences: the same entities (every sentence begins and ends
  with O, so none crosses a cut), without seqeval's quadratic cost on one long list (a minute for
  the 300k characters of the dev set, against a second).
- ner_char_macro_f1: scikit-learn's f1_score over the characters with labels=every tag of the task,
  O included (the baseline's docstring says "except O tag"; its code counts O), average="macro",
  zero_division=1, so a tag absent from both references and predictions scores 1.0, as there.
- ner_char_macro_f1_without_o: the same over the entity tags only, what that docstring describes.

Two departures, both documented where they apply: characters that max_length cut off are scored
with the prediction O (the baseline drops them from both sides, which flatters a truncating model;
the result counts them instead), and the entity F1 is 0.0 where no entity occurs at all (seqeval's
macro mean of nothing is NaN, and a NaN would poison every average it enters).

## KLUE-DP
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
"""
from __future__ import annotations

import math
import re
import string
import warnings
from difflib import SequenceMatcher
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics import Scores, flag

__all__ = ["CUT_OFF_HEAD", "DP_METRICS", "KLUE_DP_LABELS", "MRC_METRICS", "RELATION_METRICS", "TAGGING_METRICS", "Arcs",
           "baseline_arcs", "baseline_sentences", "compute_dp_scores", "compute_mrc_scores", "compute_relation_scores",
           "compute_tagging_scores", "compute_wos_scores", "normalize_mrc_answer", "WOS_METRICS",
           "wos_joint_goal_accuracy", "wos_slot_micro_f1"]

OUTSIDE = "O"
SPACE = " "
Sentences = list[list[str]]  # tag names, one list per sentence; concatenated, the sequence the baseline scores


def ner_entity_macro_f1(predictions: Sentences, references: Sentences, labels: Sequence[str]) -> float:
    """Entity-level macro F1 over the entity types, strict IOB2 (seqeval); the types come from the tags."""
    from seqeval.metrics import f1_score
    from seqeval.metrics.v1 import UndefinedMetricWarning
    from seqeval.scheme import IOB2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # a type never predicted scores 0, as it should
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean over no entity types at all (handled below)
        value = float(f1_score(references, predictions, average="macro", mode="strict", scheme=IOB2))
    return 0.0 if math.isnan(value) else value


def ner_char_macro_f1(predictions: Sentences, references: Sentences, labels: Sequence[str]) -> float:
    """Character-level macro F1 over every tag, O included, absent tags scoring 1.0 (the baseline's)."""
    return _char_macro_f1(predictions, references, list(labels))


def ner_char_macro_f1_without_o(predictions: Sentences, references: Sentences, labels: Sequence[str]) -> float:
    """Character-level macro F1 over the entity tags only (B-X and I-X), otherwise as ner_char_macro_f1."""
    return _char_macro_f1(predictions, references, [label for label in labels if label != OUTSIDE])


def _char_macro_f1(predictions: Sentences, references: Sentences, labels: list[str]) -> float:
    """On the flattened characters, as the baseline's sklearn call."""
    from sklearn.metrics import f1_score

    gold, predicted = list(chain.from_iterable(references)), list(chain.from_iterable(predictions))
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=1))


TAGGING_METRICS: dict[str, Callable[[Sentences, Sentences, Sequence[str]], float]] = {
    "ner_entity_macro_f1": ner_entity_macro_f1,
    "ner_char_macro_f1": ner_char_macro_f1,
    "ner_char_macro_f1_without_o": ner_char_macro_f1_without_o,
}


def baseline_sentences(sentences: Sequence[Sequence[int]], characters: Sequence[Sequence[str]],
                       labels: Sequence[str]) -> Sentences:
    """Tag names per sentence as the baseline scores them: O, the tag of each character but spaces, O."""
    if len(sentences) != len(characters):
        raise DataError(f"{len(sentences)} tag sequences for {len(characters)} sentences; "
                        "every evaluated sentence needs exactly one")
    out = []
    for number, (tags, chars) in enumerate(zip(sentences, characters)):
        if len(tags) != len(chars):
            raise DataError(f"sentence {number}: {len(tags)} tags for {len(chars)} characters; "
                            "decoding must give every character exactly one tag")
        out.append([OUTSIDE, *(labels[tag] for tag, char in zip(tags, chars) if char != SPACE), OUTSIDE])
    return out


def compute_tagging_scores(metric_names: Sequence[str], predictions: Sequence[Sequence[int]],
                           references: Sequence[Sequence[int]], characters: Sequence[Sequence[str]],
                           labels: Sequence[str]) -> dict[str, float]:
    """Score per-sentence character tags (indices into `labels`) with each named metric, on a 0-100 scale."""
    unknown = [name for name in metric_names if name not in TAGGING_METRICS]
    if unknown:
        raise ConfigError(f"unknown tagging metric(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(sorted(TAGGING_METRICS))}")
    if not references:
        raise DataError("no sentences to score")
    predicted = baseline_sentences(predictions, characters, labels)
    gold = baseline_sentences(references, characters, labels)
    return {name: TAGGING_METRICS[name](predicted, gold, labels) * 100.0 for name in metric_names}


# --- KLUE-DP ---------------------------------------------------------------------------------------

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


def _macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """scikit-learn's macro F1 with default settings: the mean over the classes seen on either side of
    2TP / (2TP + FP + FN), which is 2TP / (gold count + predicted count) and 0 where TP is 0."""
    classes, codes = np.unique(np.concatenate([gold, predicted]), return_inverse=True)
    gold_codes, predicted_codes = codes[:len(gold)], codes[len(gold):]
    hits = np.bincount(gold_codes[gold_codes == predicted_codes], minlength=len(classes))
    counts = np.bincount(gold_codes, minlength=len(classes)) + np.bincount(predicted_codes, minlength=len(classes))
    return float(np.mean(2 * hits / counts))


def _las_relations(predicted: Arcs, gold: Arcs) -> np.ndarray:
    """The predicted relation classes with WRONG_HEAD wherever the predicted head is wrong."""
    return np.where(predicted.heads == gold.heads, predicted.relations, WRONG_HEAD)


def dp_uas_macro_f1(predicted: Arcs, gold: Arcs) -> float:
    """Macro F1 over head positions as classes (KLUE's "UAS macro F1")."""
    return _macro_f1(gold.heads, predicted.heads)


def dp_las_macro_f1(predicted: Arcs, gold: Arcs) -> float:
    """Macro F1 over relation classes, rare relations merged and wrong heads a class of their own
    (KLUE's "LAS macro F1")."""
    return _macro_f1(gold.relations, _las_relations(predicted, gold))


def dp_uas_micro_f1(predicted: Arcs, gold: Arcs) -> float:
    """The share of words with the right head (plain UAS)."""
    return float(np.mean(predicted.heads == gold.heads))


def dp_las_micro_f1(predicted: Arcs, gold: Arcs) -> float:
    """The share of words with the right head and the right relation class (rare relations merged)."""
    return float(np.mean(_las_relations(predicted, gold) == gold.relations))


DP_METRICS: dict[str, Callable[[Arcs, Arcs], float]] = {
    "dp_uas_macro_f1": dp_uas_macro_f1,
    "dp_las_macro_f1": dp_las_macro_f1,
    "dp_uas_micro_f1": dp_uas_micro_f1,
    "dp_las_micro_f1": dp_las_micro_f1,
}


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


def compute_dp_scores(metric_names: Sequence[str], head_predictions: Sequence, head_references: Sequence,
                      relation_predictions: Sequence, relation_references: Sequence,
                      labels: Sequence[str] = KLUE_DP_LABELS) -> dict[str, float]:
    """Score per-sentence heads (0 = root, i = word i; a predicted head may be CUT_OFF_HEAD) and relations
    (indices into `labels`, any order of KLUE-DP's relations) with each named metric, on a 0-100 scale. Lists, numpy arrays and torch tensors
    all work; every word of every sentence needs a prediction."""
    unknown = [name for name in metric_names if name not in DP_METRICS]
    if unknown:
        raise ConfigError(f"unknown dependency-parsing metric(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(sorted(DP_METRICS))}")
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
    return {name: DP_METRICS[name](predicted, gold) * 100.0 for name in metric_names}


# --- KLUE-RE ---------------------------------------------------------------------------------------
# re_micro_f1: scikit-learn's f1_score(gold, arg-max prediction, average="micro", labels=every relation but
#   no_relation): pooled over the 29 relations, so a no_relation example predicted as a relation is a
#   false positive, a relation predicted as no_relation a false negative, and no_relation itself
#   never a true positive.
# re_auprc: per class, the area under the precision-recall curve of that class's probability against
#   "is this class" (precision_recall_curve, then auc(recall, precision): the trapezoidal area, not
#   average precision), averaged over all classes, no_relation included. A class absent from the
#   gold labels has no curve; the baseline's scikit-learn gave NaN there, the current one a precision
#   of 0 at recall 1, which scores 0.5 whatever the probabilities. KLUE-RE's dev set holds every class;
#   a holdout or capped eval may not, so the score keeps that fixed 0.5 per absent class (the baseline's
#   definition) and is flagged (`absent_gold_classes`) saying how many classes it covers.
NO_RELATION = "no_relation"


def re_micro_f1(probabilities: np.ndarray, references: np.ndarray, labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    if NO_RELATION not in labels:
        raise ConfigError(f"re_micro_f1 leaves out {NO_RELATION!r}, which is not among the task's labels")
    relations = [i for i, label in enumerate(labels) if label != NO_RELATION]
    return float(f1_score(references, probabilities.argmax(1), average="micro", labels=relations))


def re_auprc(probabilities: np.ndarray, references: np.ndarray, labels: Sequence[str]) -> float:
    from sklearn.metrics import auc, precision_recall_curve

    gold = np.eye(len(labels), dtype=np.int64)[references]
    areas = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No positive class found")
        for c in range(len(labels)):
            precision, recall, _ = precision_recall_curve(gold[:, c], probabilities[:, c])
            areas.append(auc(recall, precision))
    return float(np.mean(areas))


RELATION_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, Sequence[str]], float]] = {
    "re_micro_f1": re_micro_f1,
    "re_auprc": re_auprc,
}


def compute_relation_scores(metric_names: Sequence[str], probabilities, references, labels: Sequence[str]
                            ) -> Scores:
    """Score class probabilities (examples, classes) against gold class indices, on a 0-100 scale;
    AUPRC over classes absent from the gold labels is flagged."""
    unknown = [name for name in metric_names if name not in RELATION_METRICS]
    if unknown:
        raise ConfigError(f"unknown relation metric(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(sorted(RELATION_METRICS))}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    references = np.asarray(references, dtype=np.int64)
    if probabilities.ndim != 2 or probabilities.shape != (len(references), len(labels)):
        raise DataError(f"expected probabilities of shape ({len(references)}, {len(labels)}), "
                        f"got {probabilities.shape}")
    if not len(references):
        raise DataError("no examples to score")
    scores = {name: RELATION_METRICS[name](probabilities, references, labels) * 100.0 for name in metric_names}
    return Scores(scores, _absent_gold_classes(metric_names, references, labels))


def _absent_gold_classes(metric_names: Sequence[str], references: np.ndarray, labels: Sequence[str]) -> list[dict]:
    """One flag when re_auprc averages in classes that no gold example holds (each a fixed 0.5)."""
    present = set(references.tolist())
    absent = [label for index, label in enumerate(labels) if index not in present]
    if "re_auprc" not in metric_names or not absent:
        return []
    return [flag("absent_gold_classes", f"{len(absent)} of {len(labels)} classes never occur in the gold labels "
                 f"({', '.join(absent)}); each adds a fixed 0.5 to re_auprc's class mean, as KLUE's baseline "
                 "defines it")]


# --- KLUE-MRC --------------------------------------------------------------------------------------
# Both metrics compare normalised strings and take, per question, the best over its gold answers (an
# unanswerable question has the one gold answer ""), then average over questions (the baseline logs
# per-question-type means but reports the mean over all questions).
# Normalisation, as the baseline's: lower-case; replace what its pattern matches with a space; drop
# ASCII punctuation (string.punctuation); collapse whitespace. Its pattern is a character class of
# quotes and brackets *followed by* the literal text "()‘’" (the brackets and quotes meant as a class
# sit outside it), so it almost never matches: 《》〈〉‘’ and other non-ASCII marks stay in the answer.
# mrc_rouge_w is, despite its name, an F1 over the longest common *substring* (difflib's
# find_longest_match, without its autojunk heuristic mattering at answer lengths): P = L / |pred|,
# R = L / |gold|, 2PR / (P + R); against the gold "" it is 1 for the prediction "" and 0 otherwise.
_MRC_PATTERN = re.compile(r"[\'\"《》<>〈〉]\(\)\‘\’")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_mrc_answer(answer: str) -> str:
    answer = _MRC_PATTERN.sub(" ", answer.lower())
    answer = "".join(c for c in answer if c not in _PUNCTUATION)
    return " ".join(answer.split())


def _substring_f1(prediction: str, gold: str) -> float:
    if gold == "":
        return float(prediction == gold)
    longest = SequenceMatcher(None, prediction, gold).find_longest_match(0, len(prediction), 0, len(gold)).size
    precision = longest / len(prediction) if prediction else 0.0
    recall = longest / len(gold)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _best_over_golds(score: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    prediction = normalize_mrc_answer(prediction)
    golds = [normalize_mrc_answer(g) for g in golds] or [""]
    return max([0.0, *(score(prediction, gold) for gold in golds)])


def mrc_exact_match(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    return float(np.mean([_best_over_golds(lambda p, g: float(p == g), p, r) for p, r in zip(predictions, references)]))


def mrc_rouge_w(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    return float(np.mean([_best_over_golds(_substring_f1, p, r) for p, r in zip(predictions, references)]))


MRC_METRICS: dict[str, Callable[[Sequence[str], Sequence[Sequence[str]]], float]] = {
    "mrc_exact_match": mrc_exact_match,
    "mrc_rouge_w": mrc_rouge_w,
}


def compute_mrc_scores(metric_names: Sequence[str], predictions: Sequence[str],
                       references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Score predicted answers against each question's gold answers ([] when unanswerable), on a 0-100 scale."""
    unknown = [name for name in metric_names if name not in MRC_METRICS]
    if unknown:
        raise ConfigError(f"unknown MRC metric(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(MRC_METRICS))}")
    if len(predictions) != len(references):
        raise DataError(f"{len(predictions)} predicted answers for {len(references)} questions")
    if not references:
        raise DataError("no questions to score")
    return {name: MRC_METRICS[name](predictions, references) * 100.0 for name in metric_names}


# --- KLUE-WoS --------------------------------------------------------------------------------------
# A turn's state is a set of "domain-slot-value" strings. Joint goal accuracy: the share of turns whose
# predicted set equals the gold set. Slot micro F1, as the baseline (after TRADE) computes it: per turn,
# F1 of the predicted items against the gold ones (an empty gold state scores 1 for an empty prediction
# and 0 otherwise), then the mean over turns; every turn counts once.


def wos_joint_goal_accuracy(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    return float(np.mean([set(p) == set(g) for p, g in zip(predictions, references)])) * 100.0


def _turn_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    if not gold:
        return float(not predicted)
    hits = sum(item in predicted for item in gold)
    false_positives = sum(item not in gold for item in predicted)
    precision = hits / (hits + false_positives) if hits + false_positives else 0.0
    recall = hits / len(gold)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def wos_slot_micro_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    return float(np.mean([_turn_f1(p, g) for p, g in zip(predictions, references)])) * 100.0


WOS_METRICS: dict[str, Callable[[Sequence[Sequence[str]], Sequence[Sequence[str]]], float]] = {
    "wos_joint_goal_accuracy": wos_joint_goal_accuracy,
    "wos_slot_micro_f1": wos_slot_micro_f1,
}


def compute_wos_scores(metric_names: Sequence[str], predictions: Sequence[Sequence[str]],
                       references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Score each turn's predicted state (domain-slot-value items) against the gold one, on a 0-100 scale."""
    unknown = [name for name in metric_names if name not in WOS_METRICS]
    if unknown:
        raise ConfigError(f"unknown WoS metric(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(WOS_METRICS))}")
    if len(predictions) != len(references) or not references:
        raise DataError(f"{len(predictions)} predicted states for {len(references)} turns; need one per turn")
    return {name: WOS_METRICS[name](predictions, references) for name in metric_names}
