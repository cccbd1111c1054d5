"""How much a score moves with the sample it was measured on: percentile bootstrap intervals, paired deltas,
and the intervals of a set of runs, all computed from the metrics' own per-unit statistics.

A sample is a set of units (examples, or groups, sentences, questions...) with the Statistics tables
of harness.metrics that score them. A resample is a vector of draw counts per unit; every metric of every
resample is then its one compute() (`draw counts @ rows` for the metrics that add up), which is also
how the score itself is computed (every unit drawn once). Resampled indices depend only on (number of
units, resamples, seed), so two runs scored on the same units, in the same order, see the same resamples:
the paired bootstrap, where a run compared with itself differs by exactly zero in every resample.

A run's predictions file is read back here (read_sample): one label and prediction per example, or the
units its task's shape makes of its rows (Shape.units). With several seeds the interval is that of the
seed mean (the metric averaged across seeds within each resample); fine-tuned minus frozen is paired on
the examples every run of the task evaluated.

May import: numpy, harness.errors, harness.metrics, harness.shapes, harness.tasks (harness.results only
for type hints: it imports this module). Imported by harness.results.resultset, the renderers (leaderboard, report) and the CLI.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import ConfigError, DataError, HarnessError
from harness.metrics import METRICS, Statistics, compute_scores, label_statistics
from harness.shapes import shape_of
from harness.tasks import TaskRegistry, TaskSpec

if TYPE_CHECKING:  # harness.results imports this module back (ResultSet.intervals)
    from harness.results import RunResult

log = logging.getLogger("harness")

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
MAIN = "main"  # the key of the main score (mean of the task's main metrics) among the distributions
_CHUNK_ELEMENTS = 1 << 22  # indices drawn per chunk: bounds memory for large evaluation sets


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval, on the metric's 0-100 scale."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def interval(estimate: float, distribution: np.ndarray, confidence: float = CONFIDENCE) -> Interval | None:
    """The central `confidence` percentile interval of a bootstrap distribution, over the resamples on which the
    score is defined (one that draws a constant column leaves a correlation undefined, NaN); None where the
    score itself is undefined or no resample defines it: an undefined score has no interval, never [0, 0]."""
    defined = np.asarray(distribution, dtype=np.float64)
    defined = defined[np.isfinite(defined)]
    if not np.isfinite(estimate) or not len(defined):
        return None
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high))


# --- resampling -----------------------------------------------------------------------------------


def resample_chunks(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Iterator[np.ndarray]:
    """(rows, n) arrays of unit indices drawn with replacement, `resamples` rows in all (checked at once)."""
    if n < 1:
        raise DataError("no examples to resample; the run scored an empty evaluation set")
    if resamples < 1:
        raise ConfigError(f"--resamples must be at least 1, got {resamples}")
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = max(1, min(resamples, _CHUNK_ELEMENTS // n))
    return (rng.integers(0, n, size=(min(rows, resamples - start), n)) for start in range(0, resamples, rows))


def resampled(tables: Sequence[Statistics], scores: Sequence[str], resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Each of `scores` the tables hold (0-100) on every resample of their units (all tables share them)."""
    wanted = [t for t in tables if any(m.name in scores for m in t.metrics)]
    if not wanted:
        return {}
    n = len(wanted[0])
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    for indices in resample_chunks(n, resamples, seed):
        offsets = (np.arange(len(indices), dtype=np.int64) * n)[:, None]
        draws = np.bincount((indices + offsets).ravel(), minlength=len(indices) * n).reshape(len(indices), n)
        for statistics in wanted:
            for name, values in statistics.values(draws.astype(np.float64)).items():
                if name in scores:
                    parts[name].append(values)
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def distributions(metrics: Sequence[str], predictions, references, resamples: int = DEFAULT_RESAMPLES,
                  seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Each one-label metric's value (0-100) on every resample of the examples."""
    return _scored(metrics, predictions, references, resamples, seed)[1]


def _scored(metrics: Sequence[str], predictions, references, resamples: int, seed: int
            ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each metric's score on all examples and on every resample of them."""
    _, tables = label_statistics(list(dict.fromkeys(metrics)), predictions, references)
    estimates = {name: value for statistics in tables for name, value in statistics.scores().items()}
    return estimates, resampled(tables, metrics, resamples, seed)


def bootstrap(metrics: Sequence[str], predictions, references, resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> dict[str, Interval | None]:
    """95% interval of each metric over evaluation examples, around the score on all of them (None: undefined)."""
    estimates, spread = _scored(metrics, predictions, references, resamples, seed)
    return {m: interval(estimates[m], spread[m]) for m in metrics}


def paired_bootstrap(metrics: Sequence[str], predictions_a, predictions_b, references,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict[str, Interval | None]:
    """95% interval of (b minus a) per metric, both systems scored on the same resampled examples (None:
    undefined)."""
    a, spread_a = _scored(metrics, predictions_a, references, resamples, seed)
    b, spread_b = _scored(metrics, predictions_b, references, resamples, seed)
    return {m: interval(b[m] - a[m], spread_b[m] - spread_a[m]) for m in metrics}


# --- a run's sample -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """One evaluation example per position, sorted by id: its label, prediction and any extra score column."""

    ids: np.ndarray
    labels: np.ndarray
    columns: dict[str, np.ndarray]  # "prediction", and "cosine" for training-free similarity scores

    def __len__(self) -> int:
        return len(self.ids)

    def restrict(self, ids: np.ndarray) -> Predictions:
        """The rows of these ids (sorted, all present): the examples two runs have in common."""
        positions = np.searchsorted(self.ids, ids)
        return Predictions(self.ids[positions], self.labels[positions],
                           {name: values[positions] for name, values in self.columns.items()})


@dataclass(frozen=True)
class UnitSample:
    """Units sorted by id and the Statistics tables (one row per unit, in that order) that score them."""

    ids: np.ndarray
    tables: tuple[Statistics, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def metrics(self) -> list[str]:
        """Every metric the sample can recompute."""
        return [metric.name for statistics in self.tables for metric in statistics.metrics]

    def restrict(self, ids: np.ndarray) -> UnitSample:
        """The units of these ids (sorted, all present): what two runs have in common."""
        positions = np.searchsorted(self.ids, ids)
        return UnitSample(self.ids[positions], tuple(t.take(positions) for t in self.tables))

    def values(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric on each row of draw counts (resamples, units)."""
        return {name: values for statistics in self.tables for name, values in statistics.values(draws).items()}


def unit_sample(task: TaskSpec, rows: list[dict]) -> UnitSample:
    """The units of a run's prediction rows, as the task's shape makes them, sorted by id; only the task's
    metrics are kept."""
    ids, tables = shape_of(task).units(task, rows)
    order = np.argsort(ids, kind="stable")
    ids = np.asarray(ids)[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        raise DataError(f"{task.id}: unit id {ids[1:][ids[1:] == ids[:-1]][0]!r} appears more than once")
    kept = []
    for statistics in tables:
        metrics = tuple(m for m in statistics.metrics if m.name in task.metrics)
        if metrics:
            kept.append(Statistics(metrics, statistics.rows, statistics.layout, statistics.columns).take(order))
    return UnitSample(ids, tuple(kept))


def read_predictions(path: Path) -> Predictions:
    """Parse predictions.jsonl; a missing file, bad line or repeated id raises DataError naming it."""
    return predictions_of(_rows(path), path)


def predictions_of(prediction_rows: list[dict], path: Path) -> Predictions:
    """One-label prediction rows (read from `path`, which errors name) as Predictions sorted by id."""
    rows = []
    for number, row in enumerate(prediction_rows, 1):
        try:
            entry = (str(row["id"]), row["label"], row["prediction"], row.get("cosine"))
        except (KeyError, TypeError) as err:
            raise DataError(f"{path}:{number}: not a prediction row with id, label and prediction ({err})") from err
        if not all(_is_number(v) for v in entry[1:3]) or not (entry[3] is None or _is_number(entry[3])):
            raise DataError(f"{path}:{number}: label, prediction and cosine must be numbers, got {entry[1:]}")
        rows.append(entry)
    rows.sort(key=lambda row: row[0])
    ids = np.array([row[0] for row in rows])
    repeated = ids[1:][ids[1:] == ids[:-1]]
    if len(repeated):
        raise DataError(f"{path}: id {repeated[0]!r} appears more than once; ids must name one example each")
    columns = {"prediction": np.array([row[2] for row in rows])}
    if all(row[3] is not None for row in rows):
        columns["cosine"] = np.array([row[3] for row in rows], dtype=np.float64)
    return Predictions(ids, np.array([row[1] for row in rows]), columns)


def read_sample(path: Path, task: TaskSpec | None) -> Predictions | UnitSample:
    """What the bootstrap resamples: one label and prediction per example (read_predictions), or, for
    tasks scored otherwise (tags, arcs, spans, choices, RE's probabilities, groups), per-unit statistics."""
    return sample_of(_rows(path), task, path)


def sample_of(rows: list[dict], task: TaskSpec | None, path: Path) -> Predictions | UnitSample:
    """read_sample of rows already read from `path` (which errors name)."""
    if task is None or shape_of(task).label_rows and "group" not in rows[0]:
        return predictions_of(rows, path)
    try:
        return unit_sample(task, rows)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise DataError(f"{path}: prediction rows do not fit {task.id}'s shape ({type(err).__name__}: {err}); "
                        "rerun the evaluation to rewrite them") from err


def _rows(path: Path) -> list[dict]:
    """A predictions file's JSON rows; an unreadable file, a bad line or no rows raise DataError naming it."""
    from harness.results import read_prediction_rows  # harness.results imports this module (ResultSet.intervals)

    rows = read_prediction_rows(path)
    if not rows:
        raise DataError(f"{path}: no predictions; rerun the evaluation to rewrite it")
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def common_ids(samples: Sequence[Predictions | UnitSample]) -> np.ndarray:
    """The ids every sample evaluated, sorted."""
    ids = samples[0].ids
    for sample in samples[1:]:
        ids = np.intersect1d(ids, sample.ids, assume_unique=True)
    return ids


def score_source(score: str) -> tuple[str, str] | None:
    """(metric, column) a reported score is computed from: `cosine_pearson` is pearson on the cosine column."""
    if score in METRICS:
        return score, "prediction"
    if score.startswith("cosine_") and score[len("cosine_"):] in METRICS:
        return score[len("cosine_"):], "cosine"
    return None


def recomputed_scores(sample: Predictions | UnitSample, scores: Sequence[str]) -> dict[str, float]:
    """Each of these scores that the sample can recompute, on all its units (the draw of each unit once)."""
    if isinstance(sample, UnitSample):
        values = sample.values(np.ones((1, len(sample))))
        return {name: float(values[name][0]) for name in scores if name in values}
    out = {}
    for score in scores:
        source = score_source(score)
        if source and source[1] in sample.columns:
            out[score] = compute_scores([source[0]], sample.columns[source[1]], sample.labels)[source[0]]
    return out


def score_distributions(sample: Predictions | UnitSample, scores: Sequence[str], main: Sequence[str] = (),
                        resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Bootstrap distribution of every score this sample can recompute, plus MAIN when `main` is given."""
    if isinstance(sample, UnitSample):
        out = resampled(sample.tables, scores, resamples, seed)
    else:
        out = {}
        by_column: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for score in scores:
            source = score_source(score)
            if source and source[1] in sample.columns:
                by_column[source[1]].append((score, source[0]))
        for column, pairs in by_column.items():
            spread = distributions([metric for _, metric in pairs], sample.columns[column], sample.labels,
                                   resamples, seed)
            out.update({score: spread[metric] for score, metric in pairs})
    if main and all(m in out for m in main):
        out[MAIN] = np.mean([out[m] for m in main], axis=0)
    return out


# --- a set of runs --------------------------------------------------------------------------------


@dataclass
class Intervals:
    """scores[(model, suite, task, mode)][score or MAIN]; deltas[(model, suite, task)] of the main score."""

    scores: dict[tuple[str, str, str, str], dict[str, Interval]] = field(default_factory=dict)
    deltas: dict[tuple[str, str, str], Interval] = field(default_factory=dict)


def run_intervals(runs: list[tuple[Path, RunResult]], registry: TaskRegistry,
                  resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Intervals:
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
        spec = _spec(registry, suite, task)
        main = spec.main_score if spec else ()  # a task this checkout does not define: no main score to recompute
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


def _seed_mean_intervals(results: list[RunResult], spreads: list[dict[str, np.ndarray]]) -> dict[str, Interval]:
    shared = set.intersection(*(set(spread) for spread in spreads))
    out = {}
    for score in sorted(shared):
        values = [r.main_score if score == MAIN else r.scores[score] for r in results]
        found = interval(float(np.mean(values)), np.mean([s[score] for s in spreads], axis=0))
        if found is not None:
            out[score] = found
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
    return interval(float(estimate), means["finetune"] - means["frozen"])
