"""KLUE-MRC's metrics as KLUE's published baseline computes them: means over questions of a per-question value.

Both metrics compare normalised strings and take, per question, the best over its gold answers (an
unanswerable question has the one gold answer ""), then average over questions (the baseline logs
per-question-type means but reports the mean over all questions).
Normalisation, as the baseline's: lower-case; replace what its pattern matches with a space; drop
ASCII punctuation (string.punctuation); collapse whitespace. Its pattern is a character class of
quotes and brackets *followed by* the literal text "()‘’" (the brackets and quotes meant as a class
sit outside it), so it almost never matches: 《》〈〉‘’ and other non-ASCII marks stay in the answer.
mrc_rouge_w is, despite its name, an F1 over the longest common *substring* (difflib's
find_longest_match, without its autojunk heuristic mattering at answer lengths): P = L / |pred|,
R = L / |gold|, 2PR / (P + R); against the gold "" it is 1 for the prediction "" and 0 otherwise.

May import: harness.errors, harness.metrics.base. Imported by harness.metrics.klue.
"""
from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from harness.errors import DataError
from harness.metrics.base import Statistics, check_names, mean_metric, means

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


MRC_METRICS = {name: mean_metric(name) for name in ("mrc_exact_match", "mrc_rouge_w")}
_PER_QUESTION: dict[str, Callable[[str, str], float]] = {"mrc_exact_match": lambda p, g: float(p == g),
                                                         "mrc_rouge_w": _substring_f1}


def mrc_statistics(metric_names: Sequence[str], predictions: Sequence[str],
                   references: Sequence[Sequence[str]]) -> Statistics:
    """Per question: each metric's best over its gold answers ([] when unanswerable)."""
    check_names(metric_names, MRC_METRICS, "MRC")
    if len(predictions) != len(references):
        raise DataError(f"{len(predictions)} predicted answers for {len(references)} questions")
    if not references:
        raise DataError("no questions to score")
    return means([MRC_METRICS[n] for n in metric_names],
                 ([_best_over_golds(_PER_QUESTION[n], p, r) for n in metric_names] for p, r in zip(predictions, references)))


def compute_mrc_scores(metric_names: Sequence[str], predictions: Sequence[str],
                       references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Score predicted answers against each question's gold answers ([] when unanswerable), on a 0-100 scale."""
    return mrc_statistics(metric_names, predictions, references).scores()
