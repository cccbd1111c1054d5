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
the examples every run of the task evaluated. Models are ranked per (task, mode) and per (suite, mode), and each
is compared with the best by the same paired difference, but only where every run of both evaluated the same
examples; a suite score ranks only the models that ran its full task set (full_task_set), over those tasks, and its
interval resamples each task on its own examples, independently of the others.

May import (pyproject.toml's import contract): numpy, harness.errors, harness.metrics, harness.models (its
model kinds), harness.shapes, harness.tasks (harness.results only for type hints: it imports this module). Imported
by harness.results.resultset, the renderers (leaderboard, report) and the CLI.
"""
from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.config import DEFAULT_RESAMPLES  # declared with the --resamples options of leaderboard and report
from harness.errors import ConfigError, DataError, HarnessError
from harness.metrics import METRICS, Statistics, compute_scores, label_statistics
from harness.models import PRETRAINED
from harness.shape_registry import shape_of
from harness.tasks import TaskRegistry, TaskSpec

if TYPE_CHECKING:  # harness.results imports this module back (ResultSet.intervals)
    from harness.results import RunResult

log = logging.getLogger("harness")

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


def read_prediction_rows(path: Path) -> list[dict]:
    """Every row of a predictions file as written, in file order; an unreadable file or line raises
    DataError naming it. It lives here, below harness.results (which re-exports it), as the bootstrap reads
    the same file into arrays."""
    rows = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{number}: not a JSON prediction row ({err})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the predictions ({err}); rerun the evaluation to rewrite it") from err
    return rows


def _rows(path: Path) -> list[dict]:
    """A predictions file's JSON rows; an unreadable file, a bad line or no rows raise DataError naming it."""
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

NOT_RESAMPLED = "no interval: predictions missing or unreadable"
OTHER_EXAMPLES = "not paired: other evaluation examples"


@dataclass(frozen=True)
class Versus:
    """A model's main score minus the best model's (of its task and mode, or of its suite and mode): the 95% paired
    bootstrap interval where both were scored on the same examples, else `unpaired` says why there is none."""

    best: str
    difference: float
    interval: Interval | None = None
    unpaired: str = ""

    def tied(self) -> bool:
        """Tied for best: the paired interval takes in zero."""
        return self.interval is not None and not self.interval.excludes_zero()


@dataclass
class Intervals:
    """scores[(model, suite, task, mode)][score or MAIN]; deltas[(model, suite, task)] of the main score (fine-tuned
    minus frozen); best[(suite, task, mode)] the model with the highest main score and versus[(model, suite, task,
    mode)] every other model against it; the same per suite score with task None; suites[(model, suite, mode)] the
    interval of the suite score."""

    scores: dict[tuple[str, str, str, str], dict[str, Interval]] = field(default_factory=dict)
    deltas: dict[tuple[str, str, str], Interval] = field(default_factory=dict)
    best: dict[tuple[str, str | None, str], str] = field(default_factory=dict)
    versus: dict[tuple[str, str, str | None, str], Versus] = field(default_factory=dict)
    suites: dict[tuple[str, str, str], Interval] = field(default_factory=dict)


@dataclass
class Cell:
    """The runs (seeds) of one (model, suite, task, mode), each with its sample and bootstrap distributions."""

    members: list[tuple[RunResult, Predictions | UnitSample | None]]
    main: tuple[str, ...]
    spreads: list[dict[str, np.ndarray]] | None = None

    @property
    def estimate(self) -> float:
        return float(np.mean([result.main_score for result, _ in self.members]))

    @property
    def resampled(self) -> bool:
        """Whether every seed's main score was resampled."""
        return self.spreads is not None and bool(self.main) and all(MAIN in spread for spread in self.spreads)

    @property
    def samples(self) -> list[Predictions | UnitSample]:
        return [sample for _, sample in self.members]

    def main_draws(self, ids: np.ndarray | None = None, resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> np.ndarray:
        """The seed mean of the main score on every resample: of all each seed evaluated, or of these `ids` (which
        every seed evaluated), resampled again where a seed evaluated more."""
        return np.mean([spread[MAIN] if ids is None or len(sample) == len(ids) else
                        score_distributions(sample.restrict(ids), list(self.main), self.main, resamples, seed)[MAIN]
                        for sample, spread in zip(self.samples, self.spreads)], axis=0)


def paired_difference(a: Cell, b: Cell, ids: np.ndarray, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> tuple[float, np.ndarray]:
    """b minus a (seed means of the main score) and its bootstrap distribution, every run of both resampled on the
    same draws of `ids`: the paired bootstrap, exactly zero in every resample where b's predictions are a's."""
    return b.estimate - a.estimate, b.main_draws(ids, resamples, seed) - a.main_draws(ids, resamples, seed)


def run_intervals(runs: list[tuple[Path, RunResult]], registry: TaskRegistry,
                  resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Intervals:
    """Intervals of every score the runs' predictions files let us recompute, the paired fine-tuned minus frozen
    difference, and every model against the best of its task (and suite) per mode; unreadable files are logged."""
    out = Intervals()
    grouped: dict[tuple[str, str, str, str], list] = defaultdict(list)
    for folder, result in runs:
        try:
            sample = read_sample(folder / result.predictions_file, _spec(registry, result.suite, result.task))
        except DataError as err:
            log.warning("no intervals for %s: %s", folder, err)
            sample = None
        grouped[(result.model, result.suite, result.task, result.mode)].append((result, sample))
    cells = {}
    for key, members in sorted(grouped.items()):
        model, suite, task, mode = key
        spec = _spec(registry, suite, task)
        cell = cells[key] = Cell(members, tuple(spec.main_score) if spec else ())  # no spec: no main to recompute
        if any(sample is None for _, sample in members):
            continue  # an interval over some of the seeds would misstate the cell
        try:
            cell.spreads = [score_distributions(sample, list(result.scores), cell.main, resamples, seed)
                            for result, sample in members]
        except DataError as err:
            log.warning("no intervals for %s %s/%s %s: %s", model, suite, task, mode, err)
            continue
        out.scores[key] = _seed_mean_intervals([r for r, _ in members], cell.spreads)
    for (model, suite, task, mode), tuned in cells.items():
        frozen = cells.get((model, suite, task, "frozen"))
        if mode == "finetune" and frozen is not None and frozen.resampled and tuned.resampled:
            ids = common_ids(frozen.samples + tuned.samples)
            if len(ids):
                found = interval(*paired_difference(frozen, tuned, ids, resamples, seed))
                if found is not None:
                    out.deltas[(model, suite, task)] = found
    _compare_models(cells, registry, out, resamples, seed)
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


# --- models against the best ------------------------------------------------------------------------


def best_model(estimates: dict[str, float]) -> str | None:
    """The model with the highest score (the first by name among equals); None where no score is defined."""
    defined = [(-value, model) for model, value in estimates.items() if np.isfinite(value)]
    return min(defined)[1] if defined else None


def full_task_set(ran: dict[str, set[str]], kinds: dict[str, str]) -> frozenset[str]:
    """The tasks a suite score ranks models on in one mode, from each model's suite-score tasks (`ran`) and kind: those
    of the pretrained model that ran the most of them (where several ran as many, the tasks all of them ran). A
    baseline or control, cheap to run everywhere, never widens it; they decide it only where no model is pretrained.
    A model that lacks any of these tasks has no suite score to rank: its mean would be over other tasks."""
    pretrained = {model: tasks for model, tasks in ran.items() if kinds.get(model, PRETRAINED) == PRETRAINED} or ran
    most = max(map(len, pretrained.values()), default=0)
    widest = [frozenset(tasks) for tasks in pretrained.values() if len(tasks) == most]
    return frozenset.intersection(*widest) if widest else frozenset()


def suite_groups(registry: TaskRegistry, suite: str, tasks) -> dict[str, str]:
    """Task -> score group of the tasks that count in the suite score (tasks of one group, MNLI matched and
    mismatched, are averaged first); diagnostics and views are left out; a task this checkout does not define
    counts on its own."""
    specs = {task: _spec(registry, suite, task) for task in tasks}
    return {task: (spec.score_group if spec and spec.score_group else task)
            for task, spec in specs.items() if spec is None or spec.in_suite_score}


def grouped_mean(values: dict, groups: dict[str, str]):
    """The suite score of per-task values (numbers, or arrays of one value per resample): the mean over score
    groups of the mean of each group's tasks; undefined (NaN) where any value is."""
    by_group = defaultdict(list)
    for task in sorted(values):
        by_group[groups[task]].append(values[task])
    return sum(sum(members) / len(members) for members in by_group.values()) / len(by_group)


def _compare_models(cells: dict, registry: TaskRegistry, out: Intervals, resamples: int, seed: int) -> None:
    """Per (suite, task, mode) and per (suite, mode): the best model, and every other one against it."""
    by_task: dict[tuple, dict[str, Cell]] = defaultdict(dict)
    by_suite: dict[tuple, dict[str, dict[str, Cell]]] = defaultdict(lambda: defaultdict(dict))
    for (model, suite, task, mode), cell in cells.items():
        by_task[(suite, task, mode)][model] = cell
        by_suite[(suite, mode)][model][task] = cell
    for (suite, task, mode), models in sorted(by_task.items()):
        best = best_model({model: cell.estimate for model, cell in models.items()})
        if best is None:
            continue
        out.best[(suite, task, mode)] = best
        for model, cell in sorted(models.items()):
            if model != best and np.isfinite(cell.estimate):
                out.versus[(model, suite, task, mode)] = _against(models[best], cell, best, resamples, seed)[0]
    for (suite, mode), models in sorted(by_suite.items()):
        _compare_suite(suite, mode, models, registry, out, resamples, seed)


def _against(best: Cell, cell: Cell, name: str, resamples: int, seed: int) -> tuple[Versus, np.ndarray | None]:
    """A model's cell against the best's, and the draws of the difference: paired only where every run of both
    evaluated the same examples."""
    difference = cell.estimate - best.estimate
    if not (best.resampled and cell.resampled):
        return Versus(name, difference, unpaired=NOT_RESAMPLED), None
    samples = best.samples + cell.samples
    if not all(np.array_equal(sample.ids, samples[0].ids) for sample in samples[1:]):
        return Versus(name, difference, unpaired=OTHER_EXAMPLES), None
    estimate, draws = paired_difference(best, cell, samples[0].ids, resamples, seed)
    found = interval(estimate, draws)
    return Versus(name, estimate, found, "" if found else NOT_RESAMPLED), draws


def _compare_suite(suite: str, mode: str, models: dict[str, dict[str, Cell]], registry: TaskRegistry,
                   out: Intervals, resamples: int, seed: int) -> None:
    """The suite score's interval per model that ran the full task set, over those tasks (each resampled on its own
    examples, independently of the others), and each such model's paired difference from the best suite score (per
    task, on the task's shared examples); a model that lacks some of them is neither ranked nor compared."""
    groups = suite_groups(registry, suite, {task for tasks in models.values() for task in tasks})
    counted = {model: {task: cell for task, cell in tasks.items() if task in groups} for model, tasks in models.items()}
    counted = {model: tasks for model, tasks in counted.items() if tasks}
    kinds = {model: next(iter(tasks.values())).members[0][0].model_kind for model, tasks in counted.items()}
    full = full_task_set({model: set(tasks) for model, tasks in counted.items()}, kinds)
    counted = {model: {task: tasks[task] for task in full} for model, tasks in counted.items()
               if full and full <= set(tasks)}
    estimates = {model: grouped_mean({t: c.estimate for t, c in tasks.items()}, groups) for model, tasks in counted.items()}
    for model, tasks in counted.items():
        if all(cell.resampled for cell in tasks.values()):
            draws = {task: _independent(cell.main_draws(), task, seed) for task, cell in tasks.items()}
            found = interval(estimates[model], grouped_mean(draws, groups))
            if found is not None:
                out.suites[(model, suite, mode)] = found
    best = best_model(estimates)
    if best is None:
        return
    out.best[(suite, None, mode)] = best
    for model, tasks in sorted(counted.items()):
        if model == best or not np.isfinite(estimates[model]):
            continue
        difference = estimates[model] - estimates[best]
        per_task = {task: _against(counted[best][task], cell, best, resamples, seed) for task, cell in tasks.items()}
        unpaired = sorted(task for task, (_, draws) in per_task.items() if draws is None)
        if unpaired:
            reasons = {per_task[task][0].unpaired for task in unpaired}
            reason = OTHER_EXAMPLES if OTHER_EXAMPLES in reasons else NOT_RESAMPLED
            out.versus[(model, suite, None, mode)] = Versus(best, difference, unpaired=f"{reason} ({', '.join(unpaired)})")
            continue
        draws = grouped_mean({task: _independent(draws, task, seed) for task, (_, draws) in per_task.items()}, groups)
        found = interval(difference, draws)
        out.versus[(model, suite, None, mode)] = Versus(best, difference, found, "" if found else NOT_RESAMPLED)


def _independent(draws: np.ndarray, task: str, seed: int) -> np.ndarray:
    """A task's resamples in an order of its own: resamples of one size share their draws (they depend only on
    the number of units), so tasks are shuffled apart before their scores are averaged, each by a permutation fixed
    by its name (the same for every model, which keeps a paired difference paired)."""
    order = np.random.Generator(np.random.PCG64([seed, zlib.crc32(task.encode("utf-8"))])).permutation(len(draws))
    return draws[order]
