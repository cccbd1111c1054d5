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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchmetrics.functional import pearson_corrcoef
from torchmetrics.functional.classification import multiclass_confusion_matrix

from harness.errors import ConfigError, DataError

__all__ = ["METRICS", "compute_scores", "main_score", "suite_score"]


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


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "macro_f1": macro_f1,
    "mcc": mcc,
    "r3": r3,
    "pearson": pearson,
    "spearman": spearman,
    "sts_binary_f1": sts_binary_f1,
}

# Correlations need real-valued input; everything else compares class ids.
_FLOAT_METRICS = frozenset({"pearson", "spearman", "sts_binary_f1"})


def _to_tensor(values: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().to(device=device, dtype=dtype)
    return torch.as_tensor(values, dtype=dtype, device=device)


def compute_scores(
    metric_names: Sequence[str],
    predictions: Any,
    references: Any,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Score predictions against references with each named metric, on a 0-100 scale.

    Inputs may be lists, numpy arrays or tensors; they are placed on ``device``
    as int64 (classification) or float64 (correlations) tensors.
    """
    unknown = [name for name in metric_names if name not in METRICS]
    if unknown:
        raise ConfigError(
            f"unknown metric(s) {', '.join(map(repr, unknown))}; known metrics: {', '.join(sorted(METRICS))}"
        )
    device = torch.device(device)
    converted: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor]] = {}
    scores: dict[str, float] = {}
    for name in metric_names:
        dtype = torch.float64 if name in _FLOAT_METRICS else torch.int64
        if dtype not in converted:
            converted[dtype] = (_to_tensor(predictions, dtype, device), _to_tensor(references, dtype, device))
        scores[name] = float(METRICS[name](*converted[dtype]) * 100.0)
    return scores


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
