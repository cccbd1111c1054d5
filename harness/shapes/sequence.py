"""One label or score per example (`sequence`): GLUE, KLUE-NLI/STS, BoolQ, CB, RTE, MultiRC, AX-b/g.

Examples hold `text`, optional `text_pair` and `label` (a class index, a float score, or None when
unlabelled), and `group` where decisions are scored together (MultiRC's answer options per question,
AX-g's gendered pairs). Frozen mode trains a linear / MLP head on pooled features (heads/pooled_probes.py);
fine-tuning trains a sequence classifier (transformers', or heads/pooled_classifier.py under
--finetune-pooling). The text-to-text view writes the label's word (or the score to one decimal) and reads it
back for the task's own metrics.
"""
from __future__ import annotations

import numpy as np

from harness.data.labels import encode_label
from harness.data.records import mark_entities
from harness.data.values import identifier
from harness.errors import ConfigError
from harness.formats import n2m
from harness.metrics import GROUP_METRICS, METRICS, label_statistics, score_examples
from harness.runners.finetune import FinetuneRunner
from harness.runners.frozen import FrozenRunner
from harness.shapes import register
from harness.shapes.base import Shape, check_prediction_count, most_frequent
from harness.shapes.generation import view_task
from harness.tasks import TaskSpec


class OneLabelShape(Shape):
    """Shapes whose examples hold one label or score (stratifiable), read as one_label_example reads them."""

    label_per_example = True

    def read(self, task, values, example_id, where):
        return one_label_example(task, values, example_id, where)


class SequenceShape(OneLabelShape):
    name = "sequence"
    label_rows = True
    frozen_runner = FrozenRunner
    finetune_runner = FinetuneRunner

    def baseline(self, task, train):
        """The training split's most frequent class, or its mean score (regression), for every example."""
        labels = [ex["label"] for ex in train]
        if task.kind == "regression":
            mean = float(np.mean(labels))
            return lambda examples: np.full(len(examples), mean, dtype=np.float64)
        majority = most_frequent(labels)
        return lambda examples: np.full(len(examples), majority, dtype=np.int64)

    def score(self, task, examples, predictions, config):
        return score_examples(task.metrics, examples, predictions)

    def rows(self, task, examples, predictions, fold):
        return one_label_rows(task, examples, predictions, fold)

    def units(self, task, rows):
        """Per example, or per group where rows have one (MultiRC's questions, AX-g's pairs): their labels'
        statistics (harness.metrics.labels)."""
        groups = [str(r["group"]) for r in rows] if "group" in rows[0] else None
        ids, tables = label_statistics(task.metrics, [r["prediction"] for r in rows], [r["label"] for r in rows],
                                       groups)
        return (ids if groups else [r["id"] for r in rows]), tables

    # --- outside harness -------------------------------------------------------------------------

    def metric_inputs(self, task):
        """A class index (a score for regression) per example predicted and gold; its group where the task's
        metrics score groups."""
        value = "float64" if task.kind == "regression" else "int64"
        inputs = {"predictions": ("prediction", value), "references": ("label", value)}
        if _grouped(task):
            inputs["groups"] = ("group", "string")
        return inputs

    def trainer_rows(self, task, examples, tokenizer, max_length):
        """Logits -> the arg-max class (a regression's one output -> the score); the label ids are the gold."""
        if _grouped(task) and examples is None:
            raise ConfigError(f"{task.id}'s metrics score groups of examples; pass examples=, the evaluation "
                              "examples in order, each with its 'group'")

        def rows(outputs, label_ids):
            outputs = np.asarray(outputs)
            predicted = outputs.reshape(len(outputs)) if task.kind == "regression" else outputs.argmax(-1)
            out = [{"id": i, "prediction": p, "label": g} for i, (p, g) in
                   enumerate(zip(predicted.tolist(), np.asarray(label_ids).reshape(len(outputs)).tolist()))]
            if _grouped(task):
                check_prediction_count(task, examples, len(out))
                for row, example in zip(out, examples):
                    row["group"] = str(example["group"])
            return out
        return rows

    # --- text to text ----------------------------------------------------------------------------

    def view(self, task):
        words = task.label_words or tuple(label.replace("_", " ").lower() for label in task.labels)
        return view_task(task, self, label_words=words)

    def generation_item(self, task, example):
        """"<task>: text" (and the pair) -> the label's text."""
        item = {"source": f"{n2m.base_name(task)}: {example['text']}"}
        if "text_pair" in example:
            item["source_pair"] = example["text_pair"]
        if example["label"] is not None:
            item["references"] = [n2m.label_text(task, example["label"])]
        return item

    def generation_scores(self, task, examples, generations, config):
        """The task's own metrics on the generations read back as labels (an unreadable one as a wrong label),
        and how many were unreadable."""
        labels, unreadable = _read_back(task, generations, [ex["label"] for ex in examples])
        own = [m for m in task.metrics if m in METRICS or m in GROUP_METRICS]
        return score_examples(own, examples, labels), unreadable

    def generation_units(self, task, rows, generations, references):
        """The one-label statistics of the labels the generations read back as."""
        golds = [row["label"] for row in rows]
        own = [m for m in task.metrics if m in METRICS]
        return label_statistics(own, _read_back(task, generations, golds)[0], np.array(golds))[1]

    def generation_row(self, task, example, generation):
        return {"label": example["label"], "prediction": n2m.read_label(task, generation)}


def _read_back(task: TaskSpec, generations: list[str], golds: list) -> tuple[np.ndarray, int]:
    """Each generation read back as a label, an unreadable one as a wrong label (a score: the far end of the
    gold range), and how many were unreadable."""
    read = [n2m.read_label(task, text) for text in generations]
    low, high = (min(golds), max(golds)) if task.kind == "regression" else (0, 0)
    labels = np.array([value if value is not None else n2m.wrong_label(task, gold, low, high)
                       for value, gold in zip(read, golds)])
    return labels, sum(value is None for value in read)


def _grouped(task: TaskSpec) -> bool:
    """Whether the task's metrics score groups of examples (MultiRC's EM, AX-g's gender parity)."""
    return any(name in GROUP_METRICS for name in task.metrics)


def one_label_example(task: TaskSpec, values: dict, example_id: str, where: str) -> dict:
    """text, text_pair (KLUE-RE's sentence with its entities marked), label and group, as the task has them."""
    text = mark_entities(values, where) if "subject" in values else values["text"]
    example = {"id": example_id, "text": text}
    if "text_pair" in values:
        example["text_pair"] = values["text_pair"]
    example["label"] = encode_label(task, values["label"], where) if "label" in values else None
    if "group" in values:
        example["group"] = identifier(values["group"], "group", where)
    return example


def one_label_rows(task: TaskSpec, examples: list[dict], predictions, fold: int) -> list[dict]:
    """Gold and predicted label (and their names for a classification), and the group where there is one."""
    rows = []
    for i, ex in enumerate(examples):
        row = {"id": ex["id"], "fold": fold, "label": ex["label"], "prediction": predictions[i].item()}
        if task.kind == "classification":
            row["label_name"] = task.labels[ex["label"]]
            row["prediction_name"] = task.labels[int(predictions[i])]
        if "group" in ex:
            row["group"] = ex["group"]
        rows.append(row)
    return rows


register(SequenceShape())
