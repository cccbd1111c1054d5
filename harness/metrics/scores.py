"""Scores as runs carry them: metric -> 0-100 with the flags raised computing them, and the averages
GLUE-style suites take of them (a task's main score, a suite's score).

May import: harness.errors. Imported by every harness.metrics module and, through the package, by the
runners, api and renderers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from harness.errors import ConfigError


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


# GLUE's scorer (scikit-learn's matthews_corrcoef) gives 0 where a Matthews correlation is undefined (a
# constant column); a suite score follows that official rule, while the task's own cell stays undefined.
ZERO_WHEN_UNDEFINED = frozenset({"mcc", "r3"})


def suite_main_score(scores: dict[str, float], main: Sequence[str]) -> tuple[float, bool]:
    """A task's main score as a suite score takes it in: an undefined (NaN) MCC or R3 counted as 0, GLUE's
    rule; any other undefined main metric leaves it undefined. Returns the score and whether the rule applied."""
    ruled = [name for name in main if name in ZERO_WHEN_UNDEFINED and _undefined(scores.get(name))]
    if not ruled:
        return main_score(scores, main), False
    return main_score({**scores, **dict.fromkeys(ruled, 0.0)}, main), True


def _undefined(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def suite_score(task_scores: dict[str, float]) -> float:
    """GLUE score: unweighted mean of per-task main scores, each task counting once."""
    if not task_scores:
        raise ConfigError("no task scores to average; the suite must contain at least one task")
    return float(math.fsum(task_scores.values()) / len(task_scores))
