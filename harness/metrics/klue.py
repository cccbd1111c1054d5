"""KLUE-NER metrics, computed as KLUE's published baseline computes them (klue_baseline/metrics/
functional.py, with the sequences its models/named_entity_recognition.py builds).

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
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from itertools import chain

from harness.errors import ConfigError, DataError

__all__ = ["TAGGING_METRICS", "baseline_sentences", "compute_tagging_scores"]

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
