"""Answer-string metrics for English: exact match and bag-of-tokens F1, max over the gold answers.

ReCoRD scores the way SQuAD v1.1 does: both strings are lower-cased, stripped of ASCII punctuation
and of the articles a / an / the, and split on whitespace; a prediction takes its best score over
the gold answers. Values here are fractions; the score functions report them on the 0-100 scale.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from harness.errors import ConfigError, DataError

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


def mean_best(score: Callable[[str, str], float], predictions: Sequence[str],
              references: Sequence[Sequence[str]]) -> float:
    """The corpus score: each prediction's best over its golds, averaged, on the 0-100 scale."""
    if len(predictions) != len(references) or not predictions:
        raise DataError(f"{len(predictions)} predictions for {len(references)} examples; need one per example")
    return 100.0 * sum(best_over_golds(score, p, g) for p, g in zip(predictions, references)) / len(predictions)


ANSWER_METRICS: dict[str, Callable[[str, str], float]] = {"exact_match": exact_match, "token_f1": token_f1}


def compute_answer_scores(metric_names: Sequence[str], predictions: Sequence[str],
                          references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Each named answer metric (0-100), every prediction scored against its best gold answer."""
    unknown = [m for m in metric_names if m not in ANSWER_METRICS]
    if unknown:
        raise ConfigError(f"unknown answer metric(s) {', '.join(unknown)}; known: {', '.join(ANSWER_METRICS)}")
    return {m: mean_best(ANSWER_METRICS[m], predictions, references) for m in metric_names}
