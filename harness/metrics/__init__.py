"""Every metric the harness reports, each defined once as per-unit statistics that add up and a compute()
over their sum (base.py says why and how), so a score and each of its bootstrap resamples are the same code.

- base.py: Metric, Statistics (a family's per-unit table), mean metrics, F1 from counts
- scores.py: Scores with their flags, a task's main score, a suite's score
- labels.py: one label or score per example (GLUE, SuperGLUE, KLUE-YNAT/NLI/STS) and groups (MultiRC, AX-g)
- klue/: KLUE-NER, DP, RE, MRC and WoS as KLUE's baseline defines them
- text.py: answer strings (ReCoRD's exact match and token F1)
- generation.py: BLEU, chrF, ROUGE-L, BERTScore through their libraries, with signatures

Nothing here imports torch at import time: task files are checked against `metric_names()` while
`harness list tasks` runs.

- load, compute_metrics: every task's metrics as an `evaluate` metric and a Trainer compute_metrics (harness.hf)

May import (pyproject.toml's import contract): numpy, harness.config, harness.models, harness.precision,
harness.errors (and, inside functions, scikit-learn, seqeval, sacrebleu, rouge-score, bert-score). One upward
arrow the contract lists, to remove: harness.hf for load and compute_metrics, on call. Imported by tasks (names), data, formats, shapes, runners, api, uncertainty
and the renderers.
"""
from harness.metrics.scores import Scores, flag, main_score, suite_main_score, suite_score
from harness.metrics.base import Metric, Statistics, scores_of
from harness.metrics.labels import GROUP_METRICS, METRICS, compute_scores, label_statistics, score_examples
from harness.metrics import klue, text
from harness.metrics.generation import GENERATION_METRICS

# Every metric defined as statistics, by name (a name means one definition wherever it appears).
REGISTRY: dict[str, Metric] = {**METRICS, **GROUP_METRICS, **klue.TAGGING_METRICS, **klue.DP_METRICS,
                               **klue.RELATION_METRICS, **klue.MRC_METRICS, **klue.WOS_METRICS,
                               **text.ANSWER_METRICS}


def metric_names() -> list[str]:
    """Every metric a task may list: the registry and the generation metrics scored by their libraries."""
    return sorted({*REGISTRY, *GENERATION_METRICS})


__all__ = ["GENERATION_METRICS", "GROUP_METRICS", "METRICS", "REGISTRY", "Metric", "Scores", "Statistics",
           "compute_metrics", "compute_scores", "flag", "label_statistics", "load", "main_score", "metric_names",
           "score_examples", "scores_of", "suite_main_score", "suite_score"]


def load(task: str, **kwargs):
    """The task's official metrics as an `evaluate` metric, offline (harness.hf.load)."""
    from harness.hf import load as load_module  # harness.hf scores through the shapes, which import this package

    return load_module(task, **kwargs)


def compute_metrics(task: str, **kwargs):
    """The task's official metrics as a transformers.Trainer compute_metrics (harness.hf.compute_metrics)."""
    from harness.hf import compute_metrics as trainer_metrics

    return trainer_metrics(task, **kwargs)
