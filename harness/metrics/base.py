"""What a metric is here: per-unit statistics that add up, and one compute() over their sum.

A unit is what a score is a mean or a ratio over: an example, a MultiRC question, a NER sentence, a DP
sentence. A metric family turns its units into one `Statistics` table (a row per unit); a metric's score
is its compute() of the column sums, and a bootstrap resample is the same compute() of `draw counts @
rows`. Scoring is the resample that draws every unit once, so a score and its intervals cannot drift
apart. Metrics that read one table (accuracy, F1, MCC on one confusion matrix) share it.

A metric that does not add up (Spearman's ranks, RE's AUPRC) says so (`additive=False`); its compute()
then reads the draw counts and the table's per-unit `columns` directly.

Definitions compute fractions; `SCALE` turns them into the reported 0-100 in one place (Metric.values).

Why plain numpy over statistics arrays rather than torchmetrics' Metric: the bootstrap evaluates compute()
on a thousand resampled sums at once, which torchmetrics' one-state-per-object `compute` cannot do, and
the states here are small count vectors, so holding them on a GPU would buy nothing. Summed rows are
what a distributed `update`/`compute` would all-reduce, so such a wrapper stays a thin layer over these.

May import: numpy, harness.errors. Imported by every harness.metrics module, harness.shapes and
harness.uncertainty.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import ConfigError

SCALE = 100.0  # reported scores are percentages


@dataclass(frozen=True)
class Metric:
    """One metric, defined once: its name, which way is better, and compute().

    compute(x, statistics) -> fractions, one per resample. An additive metric gets x = summed rows
    (resamples, width); a non-additive one gets x = draw counts (resamples, units) and reads
    statistics.columns itself.
    """

    name: str
    compute: Callable[[np.ndarray, Statistics], np.ndarray]
    higher_is_better: bool = True
    additive: bool = True

    def values(self, draws: np.ndarray, statistics: Statistics) -> np.ndarray:
        """The metric (0-100) on each row of draw counts (resamples, units)."""
        given = draws @ statistics.rows if self.additive else draws
        return SCALE * np.asarray(self.compute(given, statistics), dtype=np.float64)


@dataclass(frozen=True)
class Statistics:
    """One family's units: a row of additive statistics per unit, the metrics that read them, how the
    columns are laid out (`layout`: class counts and such), and per-unit data the non-additive metrics read."""

    metrics: tuple[Metric, ...]
    rows: np.ndarray  # (units, width) float64
    layout: Mapping[str, Any] = field(default_factory=dict)
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, positions: np.ndarray) -> Statistics:
        """These units only, in this order: what the bootstrap keeps of a sample (sorted, or shared with a run)."""
        return Statistics(self.metrics, self.rows[positions], self.layout,
                          {name: values[positions] for name, values in self.columns.items()})

    def values(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric of the table (0-100) on each row of draw counts (resamples, units)."""
        return {metric.name: metric.values(draws, self) for metric in self.metrics}

    def scores(self) -> dict[str, float]:
        """Every metric of the table (0-100) on all its units: the resample that draws each unit once."""
        return {name: float(value[0]) for name, value in self.values(np.ones((1, len(self)))).items()}


def table(metrics: Iterable[Metric], rows, **layout) -> Statistics:
    """A Statistics table of these rows, laid out as given."""
    return Statistics(tuple(metrics), np.asarray(rows, dtype=np.float64), layout)


def scores_of(tables: Iterable[Statistics], names: Sequence[str]) -> dict[str, float]:
    """The named scores (0-100, in the order asked) from the tables that hold them."""
    found: dict[str, float] = {}
    for statistics in tables:
        found.update(statistics.scores())
    return {name: found[name] for name in names}


def check_names(names: Sequence[str], known: Mapping[str, Metric], what: str = "") -> None:
    """ConfigError naming the metrics a family (`what`: "tagging", "MRC"...) does not define, with the ones it does."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"unknown {what + ' ' if what else ''}metric(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(sorted(known))}")


# --- means over units ----------------------------------------------------------------------------


def mean_metric(name: str, higher_is_better: bool = True) -> Metric:
    """A metric that is the mean of a per-unit value (an exact match per question, an F1 per turn)."""
    def compute(sums: np.ndarray, statistics: Statistics) -> np.ndarray:
        return sums[:, statistics.layout["column"][name]] / sums[:, -1]
    return Metric(name, compute, higher_is_better)


def means(metrics: Sequence[Metric], values: Iterable[Sequence[float]]) -> Statistics:
    """Mean metrics' table from each unit's values (one per metric, in order) and a count column."""
    rows = np.array([[*unit, 1.0] for unit in values], dtype=np.float64).reshape(-1, len(metrics) + 1)
    return table(metrics, rows, column={metric.name: i for i, metric in enumerate(metrics)})


# --- F1 from counts -----------------------------------------------------------------------------


def f1_per_class(hits: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F1 = 2TP / (2TP + FP + FN) from hits (TP) and counts (gold + predicted = 2TP + FP + FN),
    and a mask of the classes that occur on either side (elsewhere F1 is 0)."""
    present = counts > 0
    return np.where(present, 2 * hits / np.where(present, counts, 1), 0.0), present


def macro_f1_seen(hits: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean F1 over the classes seen on either side (scikit-learn's and seqeval's label set); 0 with none."""
    f1, present = f1_per_class(hits, counts)
    kept = present.sum(axis=-1)
    return np.where(kept > 0, f1.sum(axis=-1) / np.maximum(kept, 1), 0.0)


def class_counts(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Hits per class 0..k-1 of one unit's aligned gold and predicted classes, then gold + predicted count
    per class: (2k,), what f1_per_class reads."""
    return np.concatenate([np.bincount(gold[gold == predicted], minlength=k),
                           np.bincount(gold, minlength=k) + np.bincount(predicted, minlength=k)])
