"""KLUE-NER's metrics as KLUE's published baseline computes them (klue_baseline/metrics/functional.py, with
the sequences its models/named_entity_recognition.py builds), as per-sentence statistics that add up.

What the baseline scores: each sentence's characters except spaces (its reader drops " "; the files
tag a space inside an entity I-X, so dropping it keeps the entity whole), wrapped in the [CLS] and
last positions, whose gold tag is O; all sentences flattened into one sequence. Those two positions
are O on both sides here (the baseline trains them as O and scores the model's prediction there);
they keep an entity from running across a sentence boundary and add two true O's per sentence.

- ner_entity_macro_f1: seqeval's f1_score with average="macro", mode="strict", scheme=IOB2: an
  entity counts only with its exact span and type, and an I-X with no B-X before it starts none.
  The macro mean runs over the entity types seen in references or predictions. seqeval's strict
  IOB2 reader finds each sentence's entities (every sentence begins and ends with O, so none crosses
  a sentence; one long list would cost seqeval a minute on the dev set), and each sentence adds its
  true positives and gold + predicted entities per type.
- ner_char_macro_f1: scikit-learn's f1_score over the characters with labels=every tag of the task,
  O included (the baseline's docstring says "except O tag"; its code counts O), average="macro",
  zero_division=1, so a tag absent from both references and predictions scores 1.0, as there.
- ner_char_macro_f1_without_o: the same over the entity tags only, what that docstring describes.

Two departures, both documented where they apply: characters that max_length cut off are scored
with the prediction O (the baseline drops them from both sides, which flatters a truncating model;
the result counts them instead), and the entity F1 is 0.0 where no entity occurs at all (seqeval's
macro mean of nothing is NaN, and a NaN would poison every average it enters).

May import: numpy, seqeval (when scoring), harness.errors, harness.metrics.base. Imported by
harness.metrics.klue.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from harness.errors import DataError
from harness.metrics.base import Metric, check_names, class_counts, f1_per_class, macro_f1_seen, table

OUTSIDE = "O"
SPACE = " "
Sentences = list[list[str]]  # tag names, one list per sentence; concatenated, the sequence the baseline scores


def _entity_f1(sums, statistics):
    """Entity-level macro F1 over the entity types seen on either side, strict IOB2."""
    t = statistics.layout["types"]
    return macro_f1_seen(sums[:, :t], sums[:, t:2 * t])


def _char_f1(sums, statistics, tags: slice | list[int]):
    """Character-level macro F1 over these tags, a tag absent on both sides scoring 1.0 (zero_division=1)."""
    t, k = statistics.layout["types"], statistics.layout["tags"]
    chars = sums[:, 2 * t:]
    f1, present = f1_per_class(chars[:, :k], chars[:, k:2 * k])
    return np.where(present, f1, 1.0)[:, tags].mean(axis=1)


TAGGING_METRICS = {
    "ner_entity_macro_f1": Metric("ner_entity_macro_f1", _entity_f1),
    # every tag, O included (the baseline's code)
    "ner_char_macro_f1": Metric("ner_char_macro_f1", lambda sums, s: _char_f1(sums, s, slice(None))),
    # the entity tags only (B-X and I-X), what the baseline's docstring describes
    "ner_char_macro_f1_without_o": Metric("ner_char_macro_f1_without_o",
                                          lambda sums, s: _char_f1(sums, s, s.layout["entity_tags"])),
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


def tagging_statistics(metric_names: Sequence[str], predictions: Sequence[Sequence[int]],
                       references: Sequence[Sequence[int]], characters: Sequence[Sequence[str]],
                       labels: Sequence[str]):
    """Per sentence: true positives and gold + predicted entities per type (strict IOB2), then hits and gold
    + predicted characters per tag."""
    from seqeval.scheme import IOB2, Entities

    check_names(metric_names, TAGGING_METRICS, "tagging")
    if not references:
        raise DataError("no sentences to score")
    labels = list(labels)
    predicted = baseline_sentences(predictions, characters, labels)
    gold = baseline_sentences(references, characters, labels)
    types = sorted({label.split("-", 1)[1] for label in labels if "-" in label})
    index = {label: i for i, label in enumerate(labels)}
    rows = []
    for gold_tags, predicted_tags, gold_entities, predicted_entities in zip(
            gold, predicted, Entities(gold, IOB2).entities, Entities(predicted, IOB2).entities):
        gold_set = {(e.tag, e.start, e.end) for e in gold_entities}
        predicted_set = {(e.tag, e.start, e.end) for e in predicted_entities}
        hits = Counter(tag for tag, _, _ in gold_set & predicted_set)
        counts = Counter(tag for tag, _, _ in gold_set) + Counter(tag for tag, _, _ in predicted_set)
        rows.append(np.concatenate([[hits[t] for t in types], [counts[t] for t in types],
                                    class_counts(np.array([index[t] for t in gold_tags]),
                                                 np.array([index[t] for t in predicted_tags]), len(labels))]))
    return table((TAGGING_METRICS[n] for n in metric_names), rows, types=len(types), tags=len(labels),
                 entity_tags=[i for i, label in enumerate(labels) if label != OUTSIDE])


def compute_tagging_scores(metric_names: Sequence[str], predictions: Sequence[Sequence[int]],
                           references: Sequence[Sequence[int]], characters: Sequence[Sequence[str]],
                           labels: Sequence[str]) -> dict[str, float]:
    """Score per-sentence character tags (indices into `labels`) with each named metric, on a 0-100 scale."""
    return tagging_statistics(metric_names, predictions, references, characters, labels).scores()
