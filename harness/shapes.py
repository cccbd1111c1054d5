"""What each task head (TaskSpec.head) needs from a run: its two runners, its scoring, its prediction rows.

A new kind of task plugs in here with one Shape; evaluate() itself never asks what a task looks like.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.config import RunConfig
from harness.metrics import GROUP_METRICS, METRICS, compute_scores
from harness.metrics.klue import (MRC_METRICS, WOS_METRICS, compute_dp_scores, compute_mrc_scores,
                                  compute_relation_scores, compute_tagging_scores, compute_wos_scores)
from harness.formats import n2m
from harness.metrics.generation import GenerationSettings, SignedScores, compute_generation_scores, last_layer
from harness.metrics.text import ANSWER_METRICS, compute_answer_scores
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


def _labels_read_back(task: TaskSpec, examples, generations, config: RunConfig) -> tuple[dict, int]:
    """A one-label task's own metrics on the generations read back as labels; an unreadable one counts as
    a wrong label (scores: the far end of the gold range)."""
    read = [n2m.read_label(task, text) for text in generations]
    golds = [ex["label"] for ex in examples]
    low, high = (min(golds), max(golds)) if task.kind == "regression" else (0, 0)
    labels = np.array([value if value is not None else n2m.wrong_label(task, gold, low, high)
                       for value, gold in zip(read, golds)])
    own = [m for m in task.metrics if m in METRICS or m in GROUP_METRICS]
    return score_values(own, examples, labels, config), sum(value is None for value in read)


def _answers(task: TaskSpec, examples, generations, config: RunConfig) -> tuple[dict, int]:
    """MRC: KLUE's exact match and ROUGE-W of the generated answers."""
    own = [m for m in task.metrics if m in MRC_METRICS]
    return compute_mrc_scores(own, generations, [ex["label"] for ex in examples]), 0


def _entities(task: TaskSpec, examples, generations, config: RunConfig) -> tuple[dict, int]:
    """ReCoRD: token F1 and exact match of the generated entity, best over the gold answers."""
    own = [m for m in task.metrics if m in ANSWER_METRICS]
    return compute_answer_scores(own, generations, [ex["answers"] for ex in examples]), 0


def _states(task: TaskSpec, examples, generations, config: RunConfig) -> tuple[dict, int]:
    """WoS: joint goal accuracy and slot micro F1 of the generated states; an unreadable one is empty."""
    read = [n2m.read_state(text) for text in generations]
    states = [items if items is not None else [] for items in read]
    own = [m for m in task.metrics if m in WOS_METRICS]
    return compute_wos_scores(own, states, [ex["label"] for ex in examples]), read.count(None)


# Each kind's own metrics, on what its generations read back as. Keyed as n2m.kind_of keys tasks.
_OWN_SCORES = {"sequence": _labels_read_back, "spans": _answers, "choices": _entities, "dialogue_state": _states}


def _generation_scores(task: TaskSpec, examples, predictions, config: RunConfig) -> dict[str, float]:
    """The task's own metrics, then exact match and the generation metrics against the reference texts, and
    `unparseable`: the share of generations that read as no label or state (counted as wrong)."""
    own, unreadable = _OWN_SCORES[n2m.kind_of(task)](task, examples, predictions, config)
    scores = SignedScores(own)
    references = [item["references"] for item in n2m.generation_examples(task, examples)]
    if "exact_match" in task.metrics and "exact_match" not in scores:
        scores.update(compute_answer_scores(["exact_match"], predictions, references))
    generated = [m for m in task.metrics if m in VIEW_METRICS and m != "exact_match"]
    scores.merge(compute_generation_scores(generated, predictions, references, generation_settings(task, config)))
    scores["unparseable"] = 100.0 * unreadable / len(predictions)
    return scores


def _generation_rows(task: TaskSpec, examples, predictions, fold: int) -> list[dict]:
    """The references and the generation; a one-label task's gold label and the label read back (None: unreadable)."""
    rows = []
    for ex, item, text in zip(examples, n2m.generation_examples(task, examples), predictions):
        row = {"id": ex["id"], "fold": fold, "target": item["target"], "references": item["references"],
               "generation": text}
        if n2m.kind_of(task) == "sequence":
            row.update(label=ex["label"], prediction=n2m.read_label(task, text))
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
