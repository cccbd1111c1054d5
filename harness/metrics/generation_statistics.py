"""The generation metrics as per-example statistics for the bootstrap: sacrebleu's sufficient statistics for
BLEU and chrF (a corpus score is computed from their sum, so they add up), and ROUGE-L and BERTScore F1
as means of per-example values. Scoring a run stays with the libraries (harness.metrics.generation,
which records their signatures); these reproduce those scores on the full sample.

May import: numpy, sacrebleu, rouge-score (through harness.metrics.generation), harness.metrics.base.
Imported by the generation shape.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.metrics.base import Metric, Statistics, mean_metric, means
from harness.metrics.generation import _bleu_metric, _streams, rouge_l


def _sacrebleu(sums, statistics):
    scorer = statistics.layout["scorer"]
    return np.array([scorer._compute_score_from_stats(list(row)).score / 100.0 for row in sums])


BLEU = Metric("bleu", _sacrebleu)
CHRF = Metric("chrf", _sacrebleu)
MEANS = {name: mean_metric(name) for name in ("rouge_l", "bertscore_f1")}


def sacrebleu_statistics(generations: Sequence[str], references: list[list[str]], language: str) -> list[Statistics]:
    """Per example: sacrebleu's sentence statistics for BLEU (the language's tokenizer) and for chrF."""
    from sacrebleu.metrics import CHRF as ChrfScorer

    tables = []
    for metric, scorer in ((BLEU, _bleu_metric(language)[0]), (CHRF, ChrfScorer())):
        # sacrebleu's per-sentence statistics add up to its corpus statistics (a private but stable method)
        rows = scorer._extract_corpus_statistics(list(generations), _streams(references))
        tables.append(Statistics((metric,), np.array(rows, dtype=np.float64), {"scorer": scorer}))
    return tables


def mean_statistics(generations: Sequence[str], references: list[list[str]], language: str,
                    bertscore_f1: Sequence[float] | None) -> Statistics:
    """Per example: its ROUGE-L, and its BERTScore F1 where the run kept it (0-100 each, as recorded)."""
    values = {"rouge_l": [rouge_l([g], [r], language)["rouge_l"] / 100 for g, r in zip(generations, references)]}
    if bertscore_f1 is not None:
        values["bertscore_f1"] = [value / 100 for value in bertscore_f1]
    return means([MEANS[name] for name in values], zip(*values.values()))
