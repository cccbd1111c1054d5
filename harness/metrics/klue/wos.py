"""KLUE-WoS's metrics as KLUE's published baseline computes them: means over turns of a per-turn value.

A turn's state is a set of "domain-slot-value" strings. Joint goal accuracy: the share of turns whose
predicted set equals the gold set. Slot micro F1, as the baseline (after TRADE) computes it: per turn,
F1 of the predicted items against the gold ones (an empty gold state scores 1 for an empty prediction
and 0 otherwise), then the mean over turns; every turn counts once.

May import: harness.errors, harness.metrics.base. Imported by harness.metrics.klue.
"""
from __future__ import annotations

from collections.abc import Sequence

from harness.errors import DataError
from harness.metrics.base import Statistics, check_names, mean_metric, means


def _turn_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    if not gold:
        return float(not predicted)
    hits = sum(item in predicted for item in gold)
    false_positives = sum(item not in gold for item in predicted)
    precision = hits / (hits + false_positives) if hits + false_positives else 0.0
    recall = hits / len(gold)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


WOS_METRICS = {name: mean_metric(name) for name in ("wos_joint_goal_accuracy", "wos_slot_micro_f1")}
_PER_TURN = {"wos_joint_goal_accuracy": lambda p, g: float(set(p) == set(g)), "wos_slot_micro_f1": _turn_f1}


def wos_statistics(metric_names: Sequence[str], predictions: Sequence[Sequence[str]],
                   references: Sequence[Sequence[str]]) -> Statistics:
    """Per turn: whether its predicted state (domain-slot-value items) equals the gold one, and their F1."""
    check_names(metric_names, WOS_METRICS, "WoS")
    if len(predictions) != len(references) or not references:
        raise DataError(f"{len(predictions)} predicted states for {len(references)} turns; need one per turn")
    return means([WOS_METRICS[n] for n in metric_names],
                 ([_PER_TURN[n](p, g) for n in metric_names] for p, g in zip(predictions, references)))


def compute_wos_scores(metric_names: Sequence[str], predictions: Sequence[Sequence[str]],
                       references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Score each turn's predicted state against the gold one, on a 0-100 scale."""
    return wos_statistics(metric_names, predictions, references).scores()


def wos_joint_goal_accuracy(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """The share of turns whose predicted state is the gold one (0-100)."""
    return compute_wos_scores(["wos_joint_goal_accuracy"], predictions, references)["wos_joint_goal_accuracy"]


def wos_slot_micro_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """The mean over turns of the predicted items' F1 against the gold ones (0-100)."""
    return compute_wos_scores(["wos_slot_micro_f1"], predictions, references)["wos_slot_micro_f1"]
