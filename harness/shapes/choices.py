"""The best of several candidates (`choices`): COPA, and ReCoRD's entities.

Examples hold `text`, `choices` (the second segment of each candidate pair), `choice_names`, and the
gold choice indices as `label` (ReCoRD adds its gold `answers`). Both modes rank candidates by pair
classification: every candidate becomes a (context, candidate) pair labelled right or wrong, the
probabilities shape's runners score the pairs, and the candidate most likely right is the prediction.
ReCoRD's text-to-text view generates the entity.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from harness.data.values import is_integer
from harness.errors import DataError
from harness.formats import n2m
from harness.metrics import label_statistics, scores_of
from harness.metrics.text import ANSWER_METRICS, answer_statistics, compute_answer_scores
from harness.runners.finetune import FinetuneProbabilityRunner
from harness.runners.frozen import FrozenProbabilityRunner
from harness.shapes import register
from harness.shapes.base import Shape
from harness.shapes.generation import view_task
from harness.shapes.probabilities import ProbabilitiesShape
from harness.tasks import TaskSpec


class ChoiceRanking:
    """Trains the wrapped runner on candidate pairs; predicts each example's best candidate index."""

    def __init__(self, task: TaskSpec, *args, **kwargs):
        super().__init__(candidate_task(task), *args, **kwargs)
        self.grouped_by = task.split_groups

    def fit(self, train: list[dict]) -> None:
        super().fit(candidate_pairs(train, self.grouped_by))

    def predict(self, examples: list[dict], split: str = "eval") -> np.ndarray:
        return pick_choices(super().predict(candidate_pairs(examples, self.grouped_by), split)[:, RIGHT], examples)


class FrozenChoiceRunner(ChoiceRanking, FrozenProbabilityRunner):
    """Candidate pairs' pooled features, a logistic regression of right vs wrong on them."""


class FinetuneChoiceRunner(ChoiceRanking, FinetuneProbabilityRunner):
    """A fine-tuned sequence classifier of right vs wrong candidate pairs."""


class ChoicesShape(Shape):
    name = "choices"
    text_fields = ("text", "question", "query", "choice*")
    frozen_runner = FrozenChoiceRunner
    finetune_runner = FinetuneChoiceRunner

    def read(self, task, values, example_id, where):
        """Candidates for the second segment: COPA's alternatives, or ReCoRD's query with each entity in its
        @placeholder (gold: every entity spelt like a gold answer)."""
        if "entities" in values:
            query, answers = str(values["query"]), [str(a) for a in values.get("answers") or []]
            names = list(dict.fromkeys(str(e) for e in values["entities"]))
            if "@placeholder" not in query or not names:
                raise DataError(f"{where}: a ReCoRD query needs an @placeholder and the passage needs entities")
            missing = [a for a in answers if a not in names]
            if missing:
                raise DataError(f"{where}: answer {missing[0]!r} is not among the passage's entities {names}")
            # Highlights (the article's summary bullets) follow the story on lines of their own.
            text = str(values["text"]).replace("@highlight\n", "- ")
            return {"id": example_id, "text": text, "query": query,
                    "choices": [query.replace("@placeholder", e) for e in names], "choice_names": names, "answers": answers,
                    "label": [names.index(a) for a in dict.fromkeys(answers)] or None}
        keys = sorted((k for k in values if k.startswith("choice")), key=lambda k: int(k[len("choice"):]))
        question = values.get("question")
        if question is not None and question not in COPA_QUESTIONS:
            raise DataError(f"{where}: question {question!r} is not one of {', '.join(COPA_QUESTIONS)}")
        text = values["text"] if question is None else f"{values['text']} {COPA_QUESTIONS[question]}"
        choices = [str(values[k]) for k in keys]
        label = values.get("label")
        if label is not None and not (is_integer(label) and 0 <= label < len(choices)):
            raise DataError(f"{where}: label {label!r} is not the index of one of the {len(choices)} choices "
                            f"(0..{len(choices) - 1}); a JSON true/false is no index")
        return {"id": example_id, "text": text, "choices": choices, "choice_names": choices,
                "label": None if label is None else [label]}

    def baseline(self, task, train):
        """The first candidate of every example."""
        return lambda examples: np.zeros(len(examples), dtype=np.int64)

    def score(self, task, examples, predictions, config):
        """Accuracy: the chosen candidate is a gold one; answer metrics: its text against the gold answers."""
        rows = self.rows(task, examples, predictions, 0)
        return scores_of(self.units(task, rows)[1], task.metrics)

    def rows(self, task, examples, predictions, fold):
        """Gold choice indices and answers, the chosen index and what it says."""
        return [{"id": ex["id"], "fold": fold, "label": ex["label"], "answers": _golds(ex), "prediction": int(p),
                 "prediction_name": ex["choice_names"][p]} for ex, p in zip(examples, predictions)]

    def units(self, task, rows):
        """Per example: whether the chosen candidate is a gold one (accuracy: the confusion of "right" against
        an all-right gold), and its answer scores against the gold answers."""
        tables = []
        if "accuracy" in task.metrics:
            right = np.array([int(row["prediction"] in row["label"]) for row in rows])
            tables.append(label_statistics(["accuracy"], right, np.ones_like(right))[1][0])
        answer_metrics = [m for m in task.metrics if m in ANSWER_METRICS]
        if answer_metrics:
            tables.append(answer_statistics(answer_metrics, [row["prediction_name"] for row in rows],
                                            [row["answers"] for row in rows]))
        return [row["id"] for row in rows], tables

    def metric_inputs(self, task):
        """The chosen candidate's index and the gold ones (COPA); the chosen entity and the gold answers where
        answers are scored as text (ReCoRD)."""
        if any(m in ANSWER_METRICS for m in task.metrics):
            return {"predictions": ("prediction_name", "string"), "references": ("answers", ["string"])}
        return {"predictions": ("prediction", "int64"), "references": ("label", ["int64"])}

    # --- text to text (ReCoRD) -------------------------------------------------------------------

    def view(self, task):
        return view_task(task, self, label_words=())

    def generation_item(self, task, example):
        """"<task>: query" and the passage -> the first gold entity."""
        item = {"source": f"{n2m.base_name(task)}: {example['query']}", "source_pair": example["text"]}
        if example.get("answers"):
            item["references"] = list(example["answers"])
        return item

    def generation_scores(self, task, examples, generations, config):
        """Token F1 and exact match of the generated entity, best over the gold answers."""
        own = [m for m in task.metrics if m in ANSWER_METRICS]
        return compute_answer_scores(own, generations, [ex["answers"] for ex in examples]), 0

    def generation_units(self, task, rows, generations, references):
        return [answer_statistics([m for m in task.metrics if m in ANSWER_METRICS], generations, references)]


def _golds(example: dict) -> list[str]:
    """The gold answers as text: ReCoRD's own, else the names of the gold choices."""
    return example.get("answers") or [example["choice_names"][g] for g in example["label"]]


# COPA's question, appended to the premise so that each choice reads as its answer.
COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


RIGHT = 1  # the class of a candidate pair that holds a gold choice


CANDIDATE_GROUP = "candidate_of"  # a candidate pair's field naming the example it was made from


def candidate_task(task: TaskSpec) -> TaskSpec:
    """The pair classification a choice task trains: two classes, predicted as probabilities. An example's
    candidates form one group: an inner CV fold that trained on (premise, right choice) and scores
    (premise, wrong choice) would reward a head that remembers premises, and choose the worst settings."""
    return dataclasses.replace(task, kind="classification", shape=ProbabilitiesShape.name, labels=("wrong", "right"),
                               split_groups=CANDIDATE_GROUP)


def candidate_pairs(examples: list[dict], grouped_by: str | None = None) -> list[dict]:
    """One (text, candidate) pair per choice of each example, labelled RIGHT for a gold one; the pairs of an
    example share its group: the example's `grouped_by` field (ReCoRD's passage), else the example."""
    return [{"id": f"{ex['id']}/{k}", CANDIDATE_GROUP: str(ex[grouped_by] if grouped_by else ex["id"]),
             "text": ex["text"], "text_pair": choice,
             "label": None if ex["label"] is None else int(k in ex["label"])}
            for ex in examples for k, choice in enumerate(ex["choices"])]


def pick_choices(right: np.ndarray, examples: list[dict]) -> np.ndarray:
    """Each example's best candidate, from every pair's probability of RIGHT in candidate_pairs' order."""
    ends = np.cumsum([len(ex["choices"]) for ex in examples])
    return np.array([int(np.argmax(scores)) for scores in np.split(right, ends[:-1])], dtype=np.int64)


register(ChoicesShape())
