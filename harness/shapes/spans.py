"""An answer span of a context (`spans`): KLUE-MRC.

Examples hold `question`, `context`, `answers` ({text, answer_start}), `question_type`, and the gold
answer texts as `label` (empty for an unanswerable question). Both modes score a start and an end per
token over windows of the context (formats/spans): fine-tuning with transformers' question-answering head,
frozen mode with the same linear scorer, heads/spans.py, under a token encoder (heads/token_encoders.py);
scored by KLUE's exact match and ROUGE-W. The text-to-text view generates the answer.
"""
from __future__ import annotations

from harness.data.records import span_example
from harness.formats import n2m
from harness.metrics.klue import MRC_METRICS, compute_mrc_scores, mrc_statistics
from harness.runners.finetune_tokens import FinetuneSpanRunner
from harness.runners.frozen_tokens import FrozenSpanRunner
from harness.shapes import register
from harness.shapes.base import Shape
from harness.shapes.generation import view_task


class SpansShape(Shape):
    name = "spans"
    input_fields = ("question", "context")
    text_fields = ("question", "context")
    hub_task = ("question-answering", "Question Answering")
    frozen_runner = FrozenSpanRunner
    finetune_runner = FinetuneSpanRunner

    def read(self, task, values, example_id, where):
        """A Hub row in SQuAD's columns: answers as {"text": [...], "answer_start": [...]}."""
        answers = values["answers"]
        if isinstance(answers, dict):
            answers = [{"text": t, "answer_start": s} for t, s in zip(answers.get("text", []), answers.get("answer_start", []))]
        return span_example(example_id, values["context"], values["question"], answers, values.get("question_type"), where)

    def baseline(self, task, train):
        """The empty answer (no span) to every question: right where a question has no answer."""
        return lambda examples: [""] * len(examples)

    def score(self, task, examples, predictions, config):
        return compute_mrc_scores(task.metrics, predictions, [ex["label"] for ex in examples])

    def rows(self, task, examples, predictions, fold):
        return [{"id": ex["id"], "fold": fold, "question": ex["question"], "question_type": ex["question_type"],
                 "answers": ex["label"], "prediction": predictions[i]} for i, ex in enumerate(examples)]

    def units(self, task, rows):
        """Per question: its MRC scores (each metric is a mean over questions)."""
        return [row["id"] for row in rows], [mrc_statistics(task.metrics, [row["prediction"] for row in rows],
                                                            [row["answers"] for row in rows])]

    def metric_inputs(self, task):
        """The predicted answer text ("" for none) and the gold answer texts (none for an unanswerable question)."""
        return {"predictions": ("prediction", "string"), "references": ("answers", ["string"])}

    # --- text to text ----------------------------------------------------------------------------

    def view(self, task):
        return view_task(task, self, label_words=())

    def generation_item(self, task, example):
        """"<task>: question" and the passage -> the first gold answer ("" for an unanswerable question)."""
        return {"source": f"{n2m.base_name(task)}: {example['question']}", "source_pair": example["context"],
                "references": list(example["label"]) or [""]}

    def generation_scores(self, task, examples, generations, config):
        """KLUE's exact match and ROUGE-W of the generated answers."""
        own = [m for m in task.metrics if m in MRC_METRICS]
        return compute_mrc_scores(own, generations, [ex["label"] for ex in examples]), 0

    def generation_units(self, task, rows, generations, references):
        return [mrc_statistics([m for m in task.metrics if m in MRC_METRICS], generations,
                               [[r for r in refs if r] for refs in references])]


register(SpansShape())
