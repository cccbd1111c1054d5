"""A run's predictions file read back, and the bootstrap distributions of the scores it supports.

Rows are kept in id order, so runs that evaluated the same examples line up row for row and the
same resampled indices pick the same examples in each: what pairs frozen with fine-tuned runs.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import stats
from harness.errors import DataError
from harness.metrics import METRICS
from harness.resampling import UnitSample, unit_distributions, unit_sample
from harness.shapes import shape_of
from harness.tasks import TaskSpec

MAIN = "main"  # the key of the main score (mean of the task's main metrics) among the distributions


@dataclass(frozen=True)
class Predictions:
    """One evaluation example per position, sorted by id: its label, prediction and any extra score column."""

    ids: np.ndarray
    labels: np.ndarray
    columns: dict[str, np.ndarray]  # "prediction", and "cosine" for training-free similarity scores

    def __len__(self) -> int:
        return len(self.ids)

    def restrict(self, ids: np.ndarray) -> "Predictions":
        """The rows of these ids (sorted, all present): the examples two runs have in common."""
        positions = np.searchsorted(self.ids, ids)
        return Predictions(self.ids[positions], self.labels[positions],
                           {name: values[positions] for name, values in self.columns.items()})


def read_predictions(path: Path) -> Predictions:
    """Parse predictions.jsonl; a missing file, bad line or repeated id raises DataError naming it."""
    rows = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                    entry = (str(row["id"]), row["label"], row["prediction"], row.get("cosine"))
                except (json.JSONDecodeError, KeyError, TypeError) as err:
                    raise DataError(f"{path}:{number}: not a prediction row with id, label and prediction ({err})"
                                    ) from err
                if not all(_is_number(v) for v in entry[1:3]) or not (entry[3] is None or _is_number(entry[3])):
                    raise DataError(f"{path}:{number}: label, prediction and cosine must be numbers, got {entry[1:]}")
                rows.append(entry)
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the predictions ({err}); rerun the evaluation to rewrite it") from err
    if not rows:
        raise DataError(f"{path}: no predictions; rerun the evaluation to rewrite it")
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
    if task is None or shape_of(task).label_rows and not _grouped(path):
        return read_predictions(path)
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
    if not rows:
        raise DataError(f"{path}: no predictions; rerun the evaluation to rewrite it")
    try:
        return unit_sample(task, rows)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise DataError(f"{path}: prediction rows do not fit {task.id}'s shape ({type(err).__name__}: {err}); "
                        "rerun the evaluation to rewrite them") from err


def _grouped(path: Path) -> bool:
    """Whether the rows name groups (the first row tells: a run writes them all alike)."""
    try:
        with open(path, encoding="utf-8") as lines:
            return "group" in json.loads(lines.readline() or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # read_predictions reports what is wrong with the file


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


def score_distributions(sample: Predictions | UnitSample, scores: Sequence[str], main: Sequence[str] = (),
                        resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED,
                        ) -> dict[str, np.ndarray]:
    """Bootstrap distribution of every score this sample can recompute, plus MAIN when `main` is given."""
    if isinstance(sample, UnitSample):
        out = unit_distributions(sample, scores, resamples, seed)
    else:
        out = _label_distributions(sample, scores, resamples, seed)
    if main and all(m in out for m in main):
        out[MAIN] = np.mean([out[m] for m in main], axis=0)
    return out


def _label_distributions(sample: Predictions, scores: Sequence[str], resamples: int, seed: int
                         ) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    by_column: dict[str, list[tuple[str, str]]] = {}
    for score in scores:
        source = score_source(score)
        if source and source[1] in sample.columns:
            by_column.setdefault(source[1], []).append((score, source[0]))
    for column, pairs in by_column.items():
        spread = stats.distributions([metric for _, metric in pairs], sample.columns[column], sample.labels,
                                     resamples, seed)
        out.update({score: spread[metric] for score, metric in pairs})
    return out
