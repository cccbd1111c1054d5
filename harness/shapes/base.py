"""The contract every shape fulfils, with the defaults most shapes share."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.errors import ConfigError, DataError, TaskError
from harness.tasks import TaskSpec

if TYPE_CHECKING:  # listing tasks reads shapes without importing any runner
    from harness.runners.base import Runner


def check_prediction_count(task: TaskSpec, examples: list[dict], count: int) -> None:
    """DataError unless a model's outputs (`count` of them) match the evaluation examples given beside them."""
    if count != len(examples):
        raise DataError(f"{task.id}: {count} predictions for {len(examples)} examples; pass the evaluation "
                        "examples in the order the model saw them")


@dataclass(frozen=True)
class ReportTable:
    """A section a shape adds to a run's report: a title, a sentence saying what it shows, a table of text cells."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str]]


class Shape:
    """What a task of one shape needs, from its records to its run report.

    Subclasses set the class attributes and implement the methods that raise NotImplementedError; the
    rest are defaults a shape overrides where it differs.
    """

    name: ClassVar[str] = ""
    # The example fields the encoder reads: exactly these (and the example id) key the feature cache.
    input_fields: ClassVar[tuple[str, ...]] = ("text", "text_pair")
    # The task fields (glob patterns) a record must hold as text: records.record_example refuses null, numbers, lists.
    text_fields: ClassVar[tuple[str, ...]] = ("text", "text_pair")
    # Examples carry one class or score in "label": holdout and k-fold stratify by it.
    label_per_example: ClassVar[bool] = False
    # Prediction rows hold one number in "label" and one in "prediction": the bootstrap reads them as such.
    label_rows: ClassVar[bool] = False
    # What the runners' `truncated` counts: the units --max-length cut off (scored as wrong), or None.
    truncated_unit: ClassVar[str | None] = None
    # The Hub's task type (model-index `task.type`, `task.name`) of what the model outputs.
    hub_task: ClassVar[tuple[str, str]] = ("text-classification", "Text Classification")
    # Trains a decoder that writes text (frozen mode trains it alone on the frozen encoder).
    generates: ClassVar[bool] = False
    # The shape's two runners, each a harness.runners.base.Runner: api.py uses nothing else of them.
    frozen_runner: ClassVar[type[Runner]]
    finetune_runner: ClassVar[type[Runner]]

    # --- data ------------------------------------------------------------------------------------

    def read(self, task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
        """One example of this shape's schema from a record's task fields (`where` names it in errors)."""
        raise NotImplementedError

    def strata(self, task: TaskSpec, examples: list[dict]) -> np.ndarray | None:
        """Classes (or score quintiles) holdout and k-fold stratify by; None where labels cannot stratify."""
        if not self.label_per_example:
            return None
        labels = np.array([ex["label"] for ex in examples], dtype=float)
        if task.kind == "regression":  # stratify scores by quintile
            return np.digitize(labels, np.quantile(labels, [0.2, 0.4, 0.6, 0.8]))
        return labels.astype(int)

    def training_problem(self, task: TaskSpec, examples: list[dict], mode: str) -> str | None:
        """Why these training examples cannot train this shape's model in `mode`, in words, or None. With one
        label per example a model needs two distinct labels (one class, or one score, teaches nothing); a frozen
        classifier also needs two examples of every class: its head chooses its regularisation by stratified
        cross-validation on them (heads/pooled_probes.py)."""
        if not examples:
            return "there are no training examples"
        if not self.label_per_example:
            return None
        counts = Counter(ex["label"] for ex in examples)
        if len(counts) < 2:
            return (f"all {len(examples)} training examples have the same label "
                    f"({_label_name(task, next(iter(counts)))}); training needs at least two")
        single = [label for label, count in sorted(counts.items()) if count < 2]
        if mode == "frozen" and task.kind == "classification" and single:
            names = " and ".join(_label_name(task, label) for label in single)
            return (f"{'classes' if len(single) > 1 else 'class'} {names} {'have' if len(single) > 1 else 'has'} a "
                    "single training example; the frozen head's cross-validation on train needs 2 of every class")
        return None

    # --- runs ------------------------------------------------------------------------------------

    def runner_class(self, mode: str) -> type[Runner]:
        return self.frozen_runner if mode == "frozen" else self.finetune_runner

    def runner(self, task: TaskSpec, mode: str, *, extractor, model_ref, config, checkpoints: Path) -> Runner:
        """The frozen runner (on the shared feature extractor) or the fine-tuning one."""
        if mode == "frozen":
            return self.frozen_runner(task, extractor, checkpoints)
        return self.finetune_runner(task, model_ref, config, checkpoints)

    def baseline(self, task: TaskSpec, train: list[dict]) -> Callable[[list[dict]], Any]:
        """The majority baseline (`--model majority`, no model at all): a rule learnt from the training examples
        alone (the most frequent label, the mean score...), as a function from examples to predictions of this
        shape's type, scored and written as any runner's are."""
        raise NotImplementedError

    def score(self, task: TaskSpec, examples: list[dict], predictions, config) -> dict[str, float]:
        """The task's metrics (0-100) of the predictions on these examples."""
        raise NotImplementedError

    def rows(self, task: TaskSpec, examples: list[dict], predictions, fold: int) -> list[dict]:
        """One JSON-ready prediction row per example: what the bootstrap and the run report read back."""
        raise NotImplementedError

    # --- reading runs back -----------------------------------------------------------------------

    def units(self, task: TaskSpec, rows: list[dict]):
        """The bootstrap's units of a run's prediction rows: (unit ids, the harness.metrics Statistics tables
        that score them, a row per unit in id order), as harness.uncertainty.unit_sample takes them. Built
        by the same statistics functions as `score`, so the score is their sum's compute()."""
        raise NotImplementedError

    def report_tables(self, task: TaskSpec, rows: list[dict]) -> list[ReportTable]:
        """What this shape adds to a run's report from its prediction rows (one-label rows get the report's
        per-class or worst-prediction tables without asking)."""
        return []

    # --- outside harness: an `evaluate` metric, a Trainer's compute_metrics (harness.hf) ------------

    def metric_inputs(self, task: TaskSpec) -> dict[str, tuple[str, Any]]:
        """The inputs of the task's `evaluate` metric: name -> (the prediction-row field it fills, its type:
        "int64", "float64", "string", or a one-item list for a sequence of that type). The rows they make
        are scored by `units`, as a run's are."""
        raise NotImplementedError

    def metric_columns(self, task: TaskSpec, rows: list[dict]) -> dict[str, list]:
        """A run's prediction rows as the task's `evaluate` metric inputs (what rescores a run with it)."""
        return {name: [row[field] for row in rows] for name, (field, _) in self.metric_inputs(task).items()}

    def trainer_rows(self, task: TaskSpec, examples: list[dict] | None, tokenizer, max_length: int
                     ) -> Callable[[np.ndarray, np.ndarray], list[dict]]:
        """What turns a transformers model's evaluation outputs (Trainer's EvalPrediction: predictions and
        label_ids, in the order of `examples`) into prediction rows that `units` scores."""
        raise ConfigError(f"{task.id}: Trainer compute_metrics exist for tasks with one label per example and for "
                          f"tags; {self.name} tasks train harness's own model: score their decoded predictions "
                          f"with harness.metrics.load({task.id!r})")

    # --- text to text ----------------------------------------------------------------------------

    def view(self, task: TaskSpec) -> TaskSpec:
        """The task as text to text (`--format n2m`), named <task>-n2m."""
        raise TaskError(f"{task.id} has no text-to-text view yet (its shape is {self.name!r})")

    def generation_item(self, task: TaskSpec, example: dict) -> dict:
        """What a text-to-text model reads (`source`, `source_pair`) and may write (`references`)."""
        raise NotImplementedError

    def generation_scores(self, task: TaskSpec, examples: list[dict], generations: list[str], config
                          ) -> tuple[dict[str, float], int]:
        """The task's own metrics on what the generations read back as, and how many were unreadable."""
        raise NotImplementedError

    def generation_units(self, task: TaskSpec, rows: list[dict], generations: list[str], references: list[list[str]]):
        """The Statistics tables (one row per example) of the task's own metrics for the bootstrap of a
        text-to-text run."""
        raise NotImplementedError

    def generation_row(self, task: TaskSpec, example: dict, generation: str) -> dict:
        """Fields a text-to-text prediction row adds for this shape (a one-label view: the label read back)."""
        return {}


def most_frequent(values) -> Any:
    """The value seen most often; among equally frequent ones, the smallest (a baseline must not depend on order)."""
    counts = Counter(values)
    return max(sorted(counts), key=counts.__getitem__)


def _label_name(task: TaskSpec, label) -> str:
    """A label as people read it: the task's name for a class index, else the value itself."""
    if task.kind == "classification" and isinstance(label, int) and 0 <= label < len(task.labels):
        return repr(task.labels[label])
    return repr(label)
