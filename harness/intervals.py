"""Bootstrap intervals for a set of runs: each (model, task, mode) over its seeds, and fine-tuned minus frozen.

With several seeds the interval is that of the seed mean: every seed's predictions are resampled
with the same example indices and the metric is averaged across seeds within each resample. The
fine-tuned-minus-frozen interval is paired: it uses only the examples every run of the task
evaluated, so each resample holds the same examples for both modes. Tasks scored over groups
(MultiRC's questions, AX-g's pairs) resample whole groups, and tasks whose scores are not one label
per example resample their units through harness.resampling.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import stats
from harness.errors import DataError, HarnessError
from harness.predictions import MAIN, Predictions, common_ids, read_sample, score_distributions
from harness.results import RunResult
from harness.stats import Interval
from harness.resampling import UnitSample
from harness.tasks import TaskRegistry, TaskSpec

log = logging.getLogger("harness")


@dataclass
class Intervals:
    """scores[(model, suite, task, mode)][score or MAIN]; deltas[(model, suite, task)] of the main score."""

    scores: dict[tuple[str, str, str, str], dict[str, Interval]] = field(default_factory=dict)
    deltas: dict[tuple[str, str, str], Interval] = field(default_factory=dict)


def run_intervals(runs: list[tuple[Path, RunResult]], registry: TaskRegistry,
                  resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED) -> Intervals:
    """Intervals of every score the runs' predictions files let us recompute; unreadable files are logged."""
    out = Intervals()
    tasks: dict[tuple[str, str, str], dict[str, list[tuple[RunResult, Predictions | UnitSample | None]]]] = defaultdict(
        lambda: defaultdict(list))
    for folder, result in runs:
        try:
            sample = read_sample(folder / result.predictions_file, _spec(registry, result.suite, result.task))
        except DataError as err:
            log.warning("no intervals for %s: %s", folder, err)
            sample = None
        tasks[(result.model, result.suite, result.task)][result.mode].append((result, sample))
    for (model, suite, task), modes in sorted(tasks.items()):
        main = _main_metrics(registry, suite, task)
        spreads = {}
        for mode, members in sorted(modes.items()):
            if any(sample is None for _, sample in members):
                continue  # an interval over some of the seeds would misstate the cell
            try:
                spreads[mode] = [score_distributions(sample, list(result.scores), main, resamples, seed)
                                 for result, sample in members]
            except DataError as err:
                log.warning("no intervals for %s %s/%s %s: %s", model, suite, task, mode, err)
                continue
            out.scores[(model, suite, task, mode)] = _seed_mean_intervals([r for r, _ in members], spreads[mode])
        if main and {"frozen", "finetune"} <= spreads.keys():
            delta = _paired_delta(modes, spreads, main, resamples, seed)
            if delta is not None:
                out.deltas[(model, suite, task)] = delta
    return out


def _spec(registry: TaskRegistry, suite: str, task: str) -> TaskSpec | None:
    try:
        return registry.get(f"{suite}/{task}")
    except HarnessError:
        return None  # a task this checkout does not define: try its predictions as one label per example


def _main_metrics(registry: TaskRegistry, suite: str, task: str) -> tuple[str, ...]:
    try:
        return registry.get(f"{suite}/{task}").main_score
    except HarnessError:
        return ()  # a task this checkout does not define: its main score cannot be recomputed


def _seed_mean_intervals(results: list[RunResult], spreads: list[dict[str, np.ndarray]]) -> dict[str, Interval]:
    shared = set.intersection(*(set(spread) for spread in spreads))
    out = {}
    for score in sorted(shared):
        values = [r.main_score if score == MAIN else r.scores[score] for r in results]
        out[score] = stats.interval(float(np.mean(values)), np.mean([s[score] for s in spreads], axis=0))
    return out


def _paired_delta(modes: dict, spreads: dict, main: tuple[str, ...], resamples: int, seed: int) -> Interval | None:
    """Fine-tuned minus frozen main score, every run resampled on the examples all of them evaluated."""
    ids = common_ids([sample for mode in ("frozen", "finetune") for _, sample in modes[mode]])
    if len(ids) == 0:
        return None
    means = {}
    for mode in ("frozen", "finetune"):
        runs = [spread[MAIN] if len(sample) == len(ids) else  # all its examples are shared: reuse
                score_distributions(sample.restrict(ids), list(main), main, resamples, seed)[MAIN]
                for (_, sample), spread in zip(modes[mode], spreads[mode])]
        means[mode] = np.mean(runs, axis=0)
    estimate = (np.mean([r.main_score for r, _ in modes["finetune"]])
                - np.mean([r.main_score for r, _ in modes["frozen"]]))
    return stats.interval(float(estimate), means["finetune"] - means["frozen"])
