"""Suite scores: what a suite score counts, and which models it ranks.

A suite score is the mean of a model's main scores over its mode's full task set (tasks of one score group averaged
first; GLUE's rule for an undefined MCC or R3); a model that ran only some of those tasks has none, since a mean over
other tasks would rank tasks, not models. The leaderboards and README's headline both ask this module, so they rank
alike; uncertainty.py draws the intervals by the same rule.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harness import uncertainty
from harness.metrics import suite_main_score
from harness.results import task_spec
from harness.tasks import TaskRegistry, TaskSpec


def suite_scores(frame: pd.DataFrame, registry: TaskRegistry) -> pd.Series:
    """Suite score per (model, mode) that ran its mode's full task set (suite_coverage): the mean of those tasks' main
    scores, tasks of one group averaged first. A model that ran only some of them has none: a mean over other tasks
    would rank tasks, not models."""
    frame = ranked_runs(frame, registry)
    specs = [task_spec(registry, suite, task) for suite, task in zip(frame["suite"], frame["task"])]
    frame = frame.assign(main_score=[score for score, _ in suite_main_scores(frame, specs)])
    scores = {}
    # Seeds first (a task run with more seeds must not weigh more), then score groups, then the suite; an
    # undefined score leaves every average above it undefined.
    for (model, mode), runs in frame.groupby(["model", "mode"], sort=True):
        per_task = runs.groupby(["suite", "task"], sort=True)["main_score"].agg(strict_mean)
        for suite, tasks in per_task.groupby(level="suite"):
            values = tasks.droplevel("suite").to_dict()
            groups = uncertainty.suite_groups(registry, suite, values)
            if groups:
                scores[(model, mode)] = uncertainty.grouped_mean({t: values[t] for t in groups}, groups)
    return pd.Series(scores, dtype="float64")


def suite_main_scores(frame: pd.DataFrame, specs: list[TaskSpec | None]) -> list[tuple[float, bool]]:
    """Each run's main score as its suite score takes it in, and whether GLUE's rule (an undefined MCC or R3
    counts 0) set it; the task's own cell keeps the undefined score."""
    return [suite_main_score(scores, spec.main_score)
            if pd.isna(main) and spec and all(name in scores for name in spec.main_score) else (main, False)
            for main, scores, spec in zip(frame["main_score"], frame["scores"], specs)]


def strict_mean(values: pd.Series) -> float:
    """The mean, undefined (NaN) when any value is: pandas' own means skip NaN, which would average an
    undefined score away."""
    return values.mean(skipna=False)


def rank_key(model: str, score: float) -> tuple:
    """Highest score first, undefined last, ties by name: the order harness.uncertainty.best_model picks the best by."""
    return (pd.isna(score), -score if not pd.isna(score) else 0.0, model)


def suite_score_runs(frame: pd.DataFrame, registry: TaskRegistry) -> pd.DataFrame:
    """The runs of tasks a suite score counts: a task's other formats (`<task>-n2m`) and diagnostics are left out."""
    return _where(frame, [getattr(task_spec(registry, suite, task), "in_suite_score", True)
                          for suite, task in zip(frame["suite"], frame["task"])])


def _where(frame: pd.DataFrame, keep: list[bool]) -> pd.DataFrame:
    """The rows where `keep` holds (a plain list of no rows would select columns instead)."""
    return frame.loc[pd.Series(keep, index=frame.index, dtype=bool)]


@dataclass(frozen=True)
class Coverage:
    """The suite-score tasks a model ran in one mode, against that mode's full task set (uncertainty.full_task_set):
    only a model that ran every one of them has a suite score, ranked over those tasks."""

    ran: frozenset[str]
    full: frozenset[str]

    @property
    def complete(self) -> bool:
        return bool(self.full) and self.full <= self.ran

    @property
    def missing(self) -> list[str]:
        return sorted(self.full - self.ran)

    def share(self) -> str:
        """How much of the full set it ran: "k of n", or its own count where the best-covered models share no task
        ("m tasks, no full set")."""
        if not self.full:
            return f"{len(self.ran)} task{'s' * (len(self.ran) != 1)}, no full set"
        return f"{len(self.ran & self.full)} of {len(self.full)}"

    def text(self) -> str:
        """The share as a phrase: "k of n tasks" (or "m tasks, no full set")."""
        return self.share() + (" tasks" if self.full else "")


def suite_coverage(frame: pd.DataFrame, registry: TaskRegistry) -> dict[tuple[str, str], Coverage]:
    """(model, mode) -> its Coverage of the mode's full task set (one suite's frame, as suite_scores takes); the same
    rule decides which models the intervals rank (uncertainty._compare_suite)."""
    return _coverage(suite_score_runs(frame, registry))


def _coverage(counted: pd.DataFrame) -> dict[tuple[str, str], Coverage]:
    """suite_coverage of runs already narrowed to the suite score's tasks."""
    coverage = {}
    for (_, mode), runs in counted.groupby(["suite", "mode"], sort=True):
        ran = {model: set(tasks) for model, tasks in runs.groupby("model")["task"]}
        full = uncertainty.full_task_set(ran, runs.groupby("model")["model_kind"].first().to_dict())
        coverage.update({(model, mode): Coverage(frozenset(tasks), full) for model, tasks in ran.items()})
    return coverage


def ranked_runs(frame: pd.DataFrame, registry: TaskRegistry) -> pd.DataFrame:
    """The runs suite scores average: of each (model, mode) that ran its mode's full task set, the runs of those
    tasks (not of any other it ran too)."""
    counted = suite_score_runs(frame, registry)
    coverage = _coverage(counted)
    return _where(counted, [coverage[(model, mode)].complete and task in coverage[(model, mode)].full
                            for model, mode, task in zip(counted["model"], counted["mode"], counted["task"])])


def suite_column_runs(runs: pd.DataFrame, coverage: dict[tuple[str, str], Coverage]) -> pd.DataFrame:
    """Of in-suite runs (or per-task rows), those a (model, mode)'s suite columns add up: the full task set's where
    it ran all of it (its score's tasks), every one where it did not (its own, shown as such)."""
    return _where(runs, [not coverage[(model, mode)].complete or task in coverage[(model, mode)].full
                         for model, mode, task in zip(runs["model"], runs["mode"], runs["task"])])


def suite_flops(runs: pd.DataFrame) -> dict[str, float]:
    """Mode -> the compute of one seed of the suite: the tasks' compute per run (mean over seeds) added up; NaN
    where any run did not record it (a partial sum would understate it)."""
    per_task = runs.groupby(["mode", "task"])["flops"].agg(strict_mean)
    return per_task.groupby(level="mode").agg(lambda values: values.sum(skipna=False)).to_dict()
