"""What each task head (TaskSpec.head) needs from a run: its two runners, its scoring, its prediction rows.

A new kind of task plugs in here with one Shape; evaluate() itself never asks what a task looks like.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.config import RunConfig
from harness.metrics import compute_scores
from harness.metrics.klue import compute_dp_scores, compute_mrc_scores, compute_relation_scores, compute_tagging_scores
from harness.formats import n2m
from harness.metrics.generation import GenerationSettings, SignedScores, compute_generation_scores, last_layer
from harness.metrics.text import compute_answer_scores
from harness.runners.choices import FinetuneChoiceRunner, FrozenChoiceRunner
from harness.runners.finetune import (FinetuneDependencyRunner, FinetuneProbabilityRunner, FinetuneRunner,
                                      FinetuneSpanPairRunner, FinetuneSpanRunner, FinetuneTokenRunner)
from harness.runners.generation import FinetuneGenerationRunner, FrozenGenerationRunner
from harness.runners.frozen import (FrozenDependencyRunner, FrozenProbabilityRunner, FrozenRunner,
                                    FrozenSpanPairRunner, FrozenSpanRunner, FrozenTokenRunner)
from harness.tasks import VIEW_METRICS, TaskSpec


@dataclass(frozen=True)
class Shape:
    frozen: type
    finetune: type
    score: Callable[[TaskSpec, list[dict], object, RunConfig], dict[str, float]]
    rows: Callable[[TaskSpec, list[dict], object, int], list[dict]]
    truncated_unit: str | None = None  # what the runners' `truncated` counts (the units max_length cut off)


def score_values(metrics, examples: list[dict], predictions, config: RunConfig) -> dict[str, float]:
    references = np.array([ex["label"] for ex in examples])
    groups = [ex["group"] for ex in examples] if examples and "group" in examples[0] else None
    return compute_scores(list(metrics), predictions, references, device=config.torch_device(), groups=groups)


def _sequence_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    return score_values(task.metrics, examples, predictions, config)


def _sequence_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
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


def _choice_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    """Accuracy: the chosen candidate is a gold one; answer metrics: its text against the gold answers."""
    chosen = [ex["choice_names"][p] for ex, p in zip(examples, predictions)]
    scores = compute_answer_scores([m for m in task.metrics if m != "accuracy"], chosen, [_golds(ex) for ex in examples])
    if "accuracy" in task.metrics:
        scores["accuracy"] = 100.0 * float(np.mean([int(p) in ex["label"] for ex, p in zip(examples, predictions)]))
    return {m: scores[m] for m in task.metrics}


def _golds(example: dict) -> list[str]:
    """The gold answers as text: ReCoRD's own, else the names of the gold choices."""
    return example.get("answers") or [example["choice_names"][g] for g in example["label"]]


def _choice_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    """Gold choice indices and answers, the chosen index and what it says."""
    return [{"id": ex["id"], "fold": fold, "label": ex["label"], "answers": _golds(ex), "prediction": int(p),
             "prediction_name": ex["choice_names"][p]} for ex, p in zip(examples, predictions)]


def _probability_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    return compute_relation_scores(task.metrics, predictions, [ex["label"] for ex in examples], task.labels)


def _probability_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    rows = _sequence_rows(task, examples, predictions.argmax(1), fold)
    for row, probabilities in zip(rows, predictions):
        row["probabilities"] = [round(float(p), 6) for p in probabilities]
    return rows


def _tag_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    return compute_tagging_scores(task.metrics, predictions, [ex["label"] for ex in examples],
                                  [ex["chars"] for ex in examples], task.labels)


def _tag_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    """One tag index per character, in the task's label order."""
    return [{"id": ex["id"], "fold": fold, "text": ex["text"], "label": list(ex["label"]),
             "prediction": predictions[i].tolist()} for i, ex in enumerate(examples)]


def _arc_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    heads, relations = predictions
    index = task.label_ids
    return compute_dp_scores(task.metrics, heads, [ex["heads"] for ex in examples], relations,
                             [[index[r] for r in ex["deprels"]] for ex in examples], task.labels)


def _arc_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    """Per word: gold and predicted head (0 = root) and relation name."""
    heads, relations = predictions
    return [{"id": ex["id"], "fold": fold, "words": ex["words"], "heads": ex["heads"], "deprels": ex["deprels"],
             "predicted_heads": heads[i].tolist(), "predicted_deprels": [task.labels[r] for r in relations[i]]}
            for i, ex in enumerate(examples)]


def _span_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    return compute_mrc_scores(task.metrics, predictions, [ex["label"] for ex in examples])


def _span_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    return [{"id": ex["id"], "fold": fold, "question": ex["question"], "question_type": ex["question_type"],
             "answers": ex["label"], "prediction": predictions[i]} for i, ex in enumerate(examples)]


def generation_settings(task: TaskSpec, config: RunConfig) -> GenerationSettings:
    model = config.bertscore_model
    return GenerationSettings(
        language=task.language, bertscore_model=model,
        bertscore_layer=config.bertscore_layer or (last_layer(model) if model else None),
        bertscore_idf=config.bertscore_idf, bertscore_rescale=config.bertscore_rescale,
        bertscore_baseline=config.bertscore_baseline, batch_size=config.eval_batch_size, device=config.torch_device())


def _generation_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    """The task's own metrics on the generations read back as labels (an unreadable one counts as wrong, and
    `unparseable` is their share), then exact match and the generation metrics against the label texts."""
    read = [n2m.read_label(task, text) for text in predictions]
    golds = [ex["label"] for ex in examples]
    low, high = (min(golds), max(golds)) if task.kind == "regression" else (0, 0)
    labels = np.array([value if value is not None else n2m.wrong_label(task, gold, low, high)
                       for value, gold in zip(read, golds)])
    own = [m for m in task.metrics if m not in VIEW_METRICS]
    scores = SignedScores(score_values(own, examples, labels, config))
    references = [[n2m.label_text(task, gold)] for gold in golds]
    if "exact_match" in task.metrics:
        scores.update(compute_answer_scores(["exact_match"], predictions, references))
    generated = [m for m in task.metrics if m in VIEW_METRICS and m != "exact_match"]
    scores.merge(compute_generation_scores(generated, predictions, references, generation_settings(task, config)))
    scores["unparseable"] = 100.0 * sum(value is None for value in read) / len(read)
    return scores


def _generation_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    """The gold label and its text, the generation and the label read from it (None: unreadable)."""
    rows = []
    for ex, text in zip(examples, predictions):
        row = {"id": ex["id"], "fold": fold, "label": ex["label"], "target": n2m.label_text(task, ex["label"]),
               "generation": text, "prediction": n2m.read_label(task, text)}
        if "group" in ex:
            row["group"] = ex["group"]
        rows.append(row)
    return rows


SHAPES: dict[str, Shape] = {
    "sequence": Shape(FrozenRunner, FinetuneRunner, _sequence_scores, _sequence_rows),
    "probabilities": Shape(FrozenProbabilityRunner, FinetuneProbabilityRunner, _probability_scores,
                           _probability_rows),
    "span_pair": Shape(FrozenSpanPairRunner, FinetuneSpanPairRunner, _sequence_scores, _sequence_rows, "spans"),
    "choices": Shape(FrozenChoiceRunner, FinetuneChoiceRunner, _choice_scores, _choice_rows),
    "tags": Shape(FrozenTokenRunner, FinetuneTokenRunner, _tag_scores, _tag_rows, "characters"),
    "arcs": Shape(FrozenDependencyRunner, FinetuneDependencyRunner, _arc_scores, _arc_rows, "words"),
    "spans": Shape(FrozenSpanRunner, FinetuneSpanRunner, _span_scores, _span_rows),
    "generation": Shape(FrozenGenerationRunner, FinetuneGenerationRunner, _generation_scores, _generation_rows),
}


def shape_of(task: TaskSpec) -> Shape:
    return SHAPES[task.head]
