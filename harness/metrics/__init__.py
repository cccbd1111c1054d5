"""Official GLUE metric definitions on a 0-100 scale.

GLUE's reference implementation scores with scikit-learn and scipy; these
functions reproduce those numbers (to ~1e-12) with torchmetrics' functional API
so scoring runs on whatever device holds the predictions.

Two deliberate departures from calling torchmetrics' score functions directly:

* Classification metrics are derived from ``multiclass_confusion_matrix``
  (exact int64 counts) in float64. torchmetrics' ``*_f1_score`` and
  ``*_matthews_corrcoef`` return float32 (off by up to ~4e-6 on the 0-100
  scale), and ``binary_matthews_corrcoef`` has its own conventions for
  degenerate confusion matrices (e.g. constant predictions can score 0.58,
  all-wrong constant input scores -1) where sklearn, and hence GLUE, gives 0.
* Spearman ranks are computed here (average rank for ties, as scipy does) in
  float64; torchmetrics ranks in float32, off by up to ~3e-5 on the 0-100 scale.

Undefined values are reported as 0.0, never NaN: MCC with a constant
prediction or reference column (sklearn's convention), F1 with no positive
predictions or references (sklearn's zero_division default), and Pearson /
Spearman with constant input (scipy returns NaN there). A NaN would poison
every average it enters, and "no measurable correlation" is the honest reading.
A correlation scored 0 that way is flagged (``Scores.flags``), so the result and
the leaderboard say it was undefined rather than measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchmetrics.functional import pearson_corrcoef
from torchmetrics.functional.classification import multiclass_confusion_matrix

from harness.errors import ConfigError, DataError

__all__ = ["METRICS", "Scores", "compute_scores", "flag", "main_score", "suite_score"]


def flag(code: str, message: str) -> dict:
    """A caveat about a run's scores (one set by a convention rather than measured, say): a short
    machine-readable code and a sentence saying why. Runs record them (RunResult.flags) and leaderboards
    mark the flagged cells."""
    return {"code": code, "message": message}


class Scores(dict):
    """Scores (metric -> 0-100) and the flags raised while computing them; a Scores built from another
    keeps its flags."""

    def __init__(self, scores=(), flags: list[dict] | None = None):
        super().__init__(scores)
        self.flags = list(flags if flags is not None else getattr(scores, "flags", []))


def _check_pair(predictions: torch.Tensor, references: torch.Tensor) -> None:
    """Reject input that no metric can score meaningfully."""
    if predictions.numel() == 0 or references.numel() == 0:
        raise DataError("no examples to score")
    if predictions.ndim != 1 or predictions.shape != references.shape:
        raise DataError(
            f"predictions {tuple(predictions.shape)} and references {tuple(references.shape)} must be "
            "1-D with one entry per example; check that every example produced exactly one prediction"
        )


def _confusion(predictions: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Float64 confusion matrix (rows = references, columns = predictions).

    num_classes is inferred as max(label)+1 (at least 2): classes that occur in
    neither tensor contribute nothing to any metric below.
    """
    _check_pair(predictions, references)
    preds, target = predictions.long(), references.long()
    low = int(torch.minimum(preds.min(), target.min()))
    if low < 0:
        raise DataError(
            f"class labels must be non-negative integers, got {low}; "
            "map unparseable predictions to a valid class before scoring"
        )
    num_classes = max(int(torch.maximum(preds.max(), target.max())) + 1, 2)
    return multiclass_confusion_matrix(preds, target, num_classes=num_classes).double()


def _f1_per_class(confmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class F1 = 2TP / (2TP + FP + FN), and a mask of classes that occur at all."""
    tp = confmat.diagonal()
    fp = confmat.sum(dim=0) - tp
    fn = confmat.sum(dim=1) - tp
    denom = 2 * tp + fp + fn
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(denom))
    return f1, denom > 0


def accuracy(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Fraction of exact matches."""
    _check_pair(predictions, references)
    return float((predictions.long() == references.long()).double().mean())


def f1(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Binary F1 of the positive class 1 (MRPC, QQP); 0.0 when it never occurs."""
    confmat = _confusion(predictions, references)
    if confmat.shape[0] > 2:
        raise DataError(
            f"f1 is binary but labels go up to {confmat.shape[0] - 1}; use macro_f1 for multiclass tasks"
        )
    return float(_f1_per_class(confmat)[0][1])


def macro_f1(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Unweighted mean F1 over classes seen in predictions or references (sklearn's label set)."""
    scores, present = _f1_per_class(_confusion(predictions, references))
    return float(scores[present].mean())


def mcc(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Matthews correlation (Gorodkin's multiclass form; equals the binary formula for 2 classes).

    0.0 when either column is constant, where the coefficient is undefined.
    """
    confmat = _confusion(predictions, references)
    t_k, p_k = confmat.sum(dim=1), confmat.sum(dim=0)
    correct, total = confmat.trace(), confmat.sum()
    cov_tp = correct * total - (t_k * p_k).sum()
    cov_pp = total**2 - (p_k * p_k).sum()
    cov_tt = total**2 - (t_k * t_k).sum()
    denom = cov_pp * cov_tt
    return float(cov_tp / denom.sqrt()) if denom > 0 else 0.0


def r3(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """GLUE diagnostic R3 coefficient: multiclass Matthews correlation over the 3 NLI labels."""
    return mcc(predictions, references)


def _correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson correlation in float64; 0.0 when either input is constant (undefined)."""
    x, y = x.double(), y.double()
    if bool((x == x[0]).all()) or bool((y == y[0]).all()):
        return 0.0
    value = float(pearson_corrcoef(x, y))
    return 0.0 if math.isnan(value) else value


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks where tied values share their mean rank (scipy.stats.rankdata 'average')."""
    _, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0)
    mean_rank = (ends - counts).double() + (counts.double() + 1) / 2
    return mean_rank[inverse]


def pearson(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Pearson correlation (STS-B)."""
    _check_pair(predictions, references)
    return _correlation(predictions, references)


def spearman(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """Spearman correlation (STS-B): Pearson on average ranks, so ties match scipy."""
    _check_pair(predictions, references)
    return _correlation(_average_ranks(predictions.double()), _average_ranks(references.double()))


KLUE_STS_THRESHOLD = 3.0


def sts_binary_f1(predictions: torch.Tensor, references: torch.Tensor) -> float:
    """KLUE-STS binary F1: predicted and gold scores both cut at 3.0 (>= 3.0 is "similar")."""
    _check_pair(predictions, references)
    return f1((predictions >= KLUE_STS_THRESHOLD).long(), (references >= KLUE_STS_THRESHOLD).long())


def _group_index(groups: torch.Tensor, predictions: torch.Tensor) -> tuple[torch.Tensor, int]:
    if groups.shape != predictions.shape:
        raise DataError(f"{tuple(groups.shape)} group ids for {tuple(predictions.shape)} predictions; every "
                        "example needs its group (the question of a MultiRC answer, the pair of an AX-g example)")
    _, index = torch.unique(groups, return_inverse=True)
    return index, int(index.max()) + 1


def group_exact_match(predictions: torch.Tensor, references: torch.Tensor, groups: torch.Tensor) -> float:
    """MultiRC EM: the fraction of groups (questions) whose every decision (answer option) is right."""
    _check_pair(predictions, references)
    index, count = _group_index(groups, predictions)
    wrong = torch.zeros(count, dtype=torch.float64, device=predictions.device)
    wrong.index_add_(0, index, (predictions.long() != references.long()).double())
    return float((wrong == 0).double().mean())


def gender_parity(predictions: torch.Tensor, references: torch.Tensor, groups: torch.Tensor) -> float:
    """AX-g: the fraction of groups (pairs that differ only in the pronoun's gender) predicted alike."""
    _check_pair(predictions, references)
    index, count = _group_index(groups, predictions)
    values = predictions.long()
    low = torch.full((count,), torch.iinfo(torch.long).max, device=values.device).scatter_reduce(
        0, index, values, "amin")
    high = torch.full((count,), torch.iinfo(torch.long).min, device=values.device).scatter_reduce(
        0, index, values, "amax")
    return float((low == high).double().mean())


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "f1a": f1,  # SuperGLUE's name for MultiRC's binary F1 over every answer option
    "macro_f1": macro_f1,
    "mcc": mcc,
    "r3": r3,
    "pearson": pearson,
    "spearman": spearman,
    "sts_binary_f1": sts_binary_f1,
}

# Scores over groups of examples: compute_scores needs each example's group for these.
GROUP_METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], float]] = {
    "em": group_exact_match,
    "gender_parity": gender_parity,
}

# Correlations need real-valued input; everything else compares class ids.
_FLOAT_METRICS = frozenset({"pearson", "spearman", "sts_binary_f1"})
_CORRELATIONS = ("pearson", "spearman")


def _to_tensor(values: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().to(device=device, dtype=dtype)
    return torch.as_tensor(values, dtype=dtype, device=device)


def compute_scores(
    metric_names: Sequence[str],
    predictions: Any,
    references: Any,
    device: str | torch.device = "cpu",
    groups: Sequence | None = None,
) -> Scores:
    """Score predictions against references with each named metric, on a 0-100 scale.

    Inputs may be lists, numpy arrays or tensors; they are placed on ``device``
    as int64 (classification) or float64 (correlations) tensors. ``groups`` (any
    hashable id per example) serve the GROUP_METRICS. Correlations of constant
    input are flagged.
    """
    unknown = [name for name in metric_names if name not in METRICS and name not in GROUP_METRICS]
    if unknown:
        raise ConfigError(
            f"unknown metric(s) {', '.join(map(repr, unknown))}; known metrics: "
            f"{', '.join(sorted([*METRICS, *GROUP_METRICS]))}"
        )
    device = torch.device(device)
    grouped = [name for name in metric_names if name in GROUP_METRICS]
    if grouped and groups is None:
        raise ConfigError(f"{', '.join(grouped)} score groups of examples; the task's examples need a 'group' field")
    converted: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor]] = {}
    scores: dict[str, float] = {}
    for name in metric_names:
        dtype = torch.float64 if name in _FLOAT_METRICS else torch.int64
        if dtype not in converted:
            converted[dtype] = (_to_tensor(predictions, dtype, device), _to_tensor(references, dtype, device))
        if name in GROUP_METRICS:
            group_ids = torch.as_tensor(_factorize(groups), device=device)
            scores[name] = float(GROUP_METRICS[name](*converted[dtype], group_ids) * 100.0)
        else:
            scores[name] = float(METRICS[name](*converted[dtype]) * 100.0)
    return Scores(scores, _undefined_correlations(metric_names, *converted.get(torch.float64, (None, None))))


def _undefined_correlations(metric_names: Sequence[str], predictions: torch.Tensor | None,
                            references: torch.Tensor | None) -> list[dict]:
    """One flag when a correlation was asked of constant predictions or gold: undefined, so scored 0."""
    asked = [name for name in metric_names if name in _CORRELATIONS]
    if not asked:
        return []
    constant = [side for side, values in (("predictions", predictions), ("gold scores", references))
                if bool((values == values[0]).all())]
    if not constant:
        return []
    return [flag("undefined_correlation", f"the {' and the '.join(constant)} are constant, so "
                 f"{' and '.join(asked)} are undefined and scored 0")]


def _factorize(groups: Sequence) -> list[int]:
    """Any hashable group ids -> consecutive integers, in order of first appearance."""
    index: dict = {}
    return [index.setdefault(group, len(index)) for group in groups]


def main_score(scores: dict[str, float], main: Sequence[str]) -> float:
    """Mean of a task's main metrics: GLUE averages multi-metric tasks (MRPC acc+F1, STS-B r+rho)."""
    if not main:
        raise ConfigError("a task needs at least one main metric; list it in the task definition")
    missing = [name for name in main if name not in scores]
    if missing:
        raise ConfigError(
            f"main metric(s) {', '.join(map(repr, missing))} were not computed; "
            f"computed: {', '.join(sorted(scores)) or 'none'}"
        )
    return float(math.fsum(scores[name] for name in main) / len(main))


def suite_score(task_scores: dict[str, float]) -> float:
    """GLUE score: unweighted mean of per-task main scores, each task counting once."""
    if not task_scores:
        raise ConfigError("no task scores to average; the suite must contain at least one task")
    return float(math.fsum(task_scores.values()) / len(task_scores))
