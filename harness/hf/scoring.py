"""A task's official metrics on prediction rows, for its `evaluate` metric and Trainer compute_metrics.

Rows are scored by the task's shape (Shape.units): the per-unit statistics a run's scores and its bootstrap
intervals come from, so a score here is the one harness records. An `evaluate` metric's inputs are columns
named by the shape (Shape.metric_inputs: predictions, references and what else its metrics read), each
filling one field of the rows. Scores are on harness's 0-100 scale, with `main_score` (the mean of the
task's main metrics) beside them.
"""
from __future__ import annotations

import numpy as np

from harness.errors import ConfigError, DataError
from harness.metrics import main_score
from harness.metrics.labels import check_class_ids
from harness.shape_registry import shape_of
from harness.tasks import REGISTRY, TaskSpec

MAIN_SCORE = "main_score"
_VALUE_TYPES = ("int64", "float64", "string")


def task_named(name: str) -> TaskSpec:
    """The task a metric scores, by its id (glue/mrpc), bare name where only one suite has it, or view (-n2m)."""
    if name in (None, "", "default"):
        raise ConfigError("name the task whose metrics to load, e.g. harness.metrics.load('glue/mrpc') or "
                          "evaluate.load(path, 'glue/mrpc'); `harness list metrics` lists them")
    return REGISTRY.get(name)


def features(task: TaskSpec):
    """The metric's inputs as `datasets` features (what evaluate checks each added batch against)."""
    import datasets

    def feature(kind):
        if isinstance(kind, list):
            return datasets.Sequence(feature(kind[0]))
        if kind not in _VALUE_TYPES:
            raise ConfigError(f"{task.id}: input type {kind!r} is none of {', '.join(_VALUE_TYPES)}")
        return datasets.Value(kind)

    return datasets.Features({name: feature(kind) for name, (_, kind) in shape_of(task).metric_inputs(task).items()})


def describe(task: TaskSpec) -> str:
    """What the metric takes and returns, for its `inputs_description`."""
    inputs = "\n".join(f"    {name}: {_kind_text(kind)} per example" for name, (_, kind)
                       in shape_of(task).metric_inputs(task).items())
    main = " and ".join(task.main_score)
    return (f"Args:\n{inputs}\nReturns:\n    {', '.join(task.metrics)} (0-100, harness's definitions), and "
            f"{MAIN_SCORE}: the mean of {main}.")


def _kind_text(kind) -> str:
    return f"a list of {_kind_text(kind[0])}" if isinstance(kind, list) else kind


def rows_of(task: TaskSpec, columns: dict[str, list]) -> list[dict]:
    """The prediction rows that these metric inputs (one list per input, a value per example) fill."""
    inputs = shape_of(task).metric_inputs(task)
    missing = [name for name in inputs if name not in columns]
    if missing:
        raise DataError(f"{task.id}'s metric needs {', '.join(missing)} beside {', '.join(columns) or 'nothing'}")
    lengths = {name: len(columns[name]) for name in inputs}
    check_lengths(task, lengths)
    return [{"id": i, **{field: columns[name][i] for name, (field, _) in inputs.items()}}
            for i in range(next(iter(lengths.values())))]


def check_batch(task: TaskSpec, columns: dict) -> None:
    """DataError where a column of class ids (int64) holds other numbers (probabilities passed for class ids),
    checked before `datasets` casts it to int64 and so cuts 0.7 to 0."""
    for name, (_, kind) in shape_of(task).metric_inputs(task).items():
        if kind == "int64" and columns.get(name) is not None:
            values = np.asarray(columns[name])
            if values.dtype.kind == "f":
                check_class_ids(name.rstrip("s"), values.reshape(-1))


def check_lengths(task: TaskSpec, lengths: dict[str, int]) -> None:
    """DataError when the inputs (name -> how many values) do not give every example one value of each."""
    if len(set(lengths.values())) > 1:
        raise DataError(f"{task.id}: inputs of unequal lengths {lengths}; every example needs one value of each")


def score_rows(task: TaskSpec, rows: list[dict]) -> dict[str, float]:
    """Each official metric the rows let the task's shape compute (0-100), and the main score where all its
    metrics are among them."""
    if not rows:
        raise DataError(f"{task.id}: no examples to score")
    try:
        tables = shape_of(task).units(task, rows)[1]
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise DataError(f"{task.id}: the inputs do not fit its metrics ({type(err).__name__}: {err}); "
                        "see the metric's inputs_description") from err
    computed = {name: value for statistics in tables for name, value in statistics.scores().items()}
    scores = {name: computed[name] for name in task.metrics if name in computed}
    if all(name in scores for name in task.main_score):
        scores[MAIN_SCORE] = main_score(scores, task.main_score)
    return scores
