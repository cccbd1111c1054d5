"""Answer-string metrics for English: exact match and bag-of-tokens F1, max over the gold answers.

ReCoRD scores the way SQuAD v1.1 does: both strings are lower-cased, stripped of ASCII punctuation
and of the articles a / an / the, and split on whitespace; a prediction takes its best score over
the gold answers. Each metric is the mean over examples of that best score (harness.metrics.base's
mean metrics), which text-to-text views also report as `exact_match`.

May import: harness.errors, harness.metrics.base. Imported by harness.metrics and the shapes that score
answers (choices, generation).
"""
from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from harness.errors import DataError
from harness.metrics.base import Statistics, check_names, mean_metric, means

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """F1 of the two normalised token bags; 0 when they share no token, even when both are empty.

    The official ReCoRD and SQuAD v1.1 scripts return 0 wherever the bags share no token, so "The" against
    "a" scores F1 0 beside EM 1 (both normalise to "").
    """
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(score: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        raise DataError(f"no gold answers to score {prediction!r} against; unanswerable examples need a metric "
                        "that defines them")
    return max(score(prediction, gold) for gold in golds)


PER_ANSWER: dict[str, Callable[[str, str], float]] = {"exact_match": exact_match, "token_f1": token_f1}
ANSWER_METRICS = {name: mean_metric(name) for name in PER_ANSWER}


def answer_statistics(metric_names: Sequence[str], predictions: Sequence[str],
                      references: Sequence[Sequence[str]]) -> Statistics:
    """Per example: each named metric's best over its gold answers."""
    check_names(metric_names, ANSWER_METRICS, "answer")
    if len(predictions) != len(references) or not predictions:
        raise DataError(f"{len(predictions)} predictions for {len(references)} examples; need one per example")
    return means([ANSWER_METRICS[m] for m in metric_names],
                 ([best_over_golds(PER_ANSWER[m], p, g) for m in metric_names] for p, g in zip(predictions, references)))


def compute_answer_scores(metric_names: Sequence[str], predictions: Sequence[str],
                          references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Each named answer metric (0-100), every prediction scored against its best gold answer."""
    return answer_statistics(metric_names, predictions, references).scores()
