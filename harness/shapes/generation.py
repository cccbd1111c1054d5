"""Text to text (`generation`): a task's text-to-text view (`--format n2m`, named <task>-n2m).

A view reads its task's examples (TaskSpec.view_of names the viewed shape, whose `generation_item`
says what the model reads and writes, and whose `generation_scores` reads the generations back for
the task's own metrics); exact match, BLEU, chrF, ROUGE-L and BERTScore score the generations against
the reference texts. A task that is text to text by itself (KLUE-WoS) has a shape subclassing this one.
"""
from __future__ import annotations

import dataclasses


from harness.errors import DataError
from harness.formats import n2m
from harness.metrics.generation import GenerationSettings, SignedScores, compute_generation_scores
from harness.metrics.text import answer_statistics, compute_answer_scores
from harness.runners.generation import FinetuneGenerationRunner, FrozenGenerationRunner
from harness.shapes import register, schema_of
from harness.shapes.base import ReportTable, Shape, most_frequent
from harness.tasks import GENERATION_SUFFIX, TaskSpec

WORST_GENERATIONS = 10  # listed in a run's report

# What a text-to-text view reports beside the task's own metrics.
VIEW_METRICS = ("exact_match", "bleu", "chrf", "rouge_l", "bertscore_f1")


class GenerationShape(Shape):
    name = "generation"
    generates = True
    hub_task = ("text2text-generation", "Text2Text Generation")
    frozen_runner = FrozenGenerationRunner
    finetune_runner = FinetuneGenerationRunner

    def baseline(self, task, train):
        """The training split's most frequent target text (a view's majority label word; KLUE-WoS's most frequent
        state), written for every example."""
        target = most_frequent([item["target"] for item in n2m.generation_examples(task, train)])
        return lambda examples: [target] * len(examples)

    def runner(self, task, mode, *, extractor, model_ref, config, checkpoints):
        """Frozen text to text trains its decoder with Trainer, at the run's learning rate (chosen on train)."""
        if mode == "frozen":
            return self.frozen_runner(task, extractor, checkpoints, config)
        return super().runner(task, mode, extractor=extractor, model_ref=model_ref, config=config,
                              checkpoints=checkpoints)

    def score(self, task, examples, predictions, config):
        """The task's own metrics, then exact match and the generation metrics against the reference texts,
        and `unparseable`: the share of generations that read as no label or state (counted as wrong)."""
        own, unreadable = schema_of(task).generation_scores(task, examples, predictions, config)
        scores = SignedScores(own)
        references = [item["references"] for item in n2m.generation_examples(task, examples)]
        if "exact_match" in task.metrics and "exact_match" not in scores:
            scores.update(compute_answer_scores(["exact_match"], predictions, references))
        generated = [m for m in task.metrics if m in VIEW_METRICS and m != "exact_match"]
        scores.merge(compute_generation_scores(generated, predictions, references, generation_settings(task, config)))
        scores["unparseable"] = 100.0 * unreadable / len(predictions)
        return scores

    def rows(self, task, examples, predictions, fold):
        """The references and the generation, and what the viewed shape adds (a label read back)."""
        rows = []
        for ex, item, text in zip(examples, n2m.generation_examples(task, examples), predictions):
            row = {"id": ex["id"], "fold": fold, "target": item["target"], "references": item["references"],
                   "generation": text, **schema_of(task).generation_row(task, ex, text)}
            if "group" in ex:
                row["group"] = ex["group"]
            rows.append(row)
        return rows

    def units(self, task, rows):
        """Per example: the task's own statistics (the viewed shape's), exact match, ROUGE-L and BERTScore F1,
        and sacrebleu's sufficient statistics for BLEU and chrF."""
        from harness.metrics.generation_statistics import mean_statistics, sacrebleu_statistics

        if "group" in rows[0]:
            raise DataError(f"{task.id}: intervals for grouped text-to-text views are not computed yet")
        generations = [row["generation"] for row in rows]
        references = [_references(row) for row in rows]
        tables = list(schema_of(task).generation_units(task, rows, generations, references))
        if not any(m.name == "exact_match" for t in tables for m in t.metrics):
            tables.append(answer_statistics(["exact_match"], generations, references))
        bertscore = [row["bertscore_f1"] for row in rows] if "bertscore_f1" in rows[0] else None  # kept since runs write it
        tables.append(mean_statistics(generations, references, task.language, bertscore))
        tables += sacrebleu_statistics(generations, references, task.language)
        return [row["id"] for row in rows], tables

    def metric_inputs(self, task):
        """The generated text and its reference texts; a one-label view also takes the gold label (or score),
        which its generations are read back against. BERTScore needs a model, so these inputs leave it out."""
        inputs = {"predictions": ("generation", "string"), "references": ("references", ["string"])}
        if schema_of(task).label_rows:
            inputs["labels"] = ("label", "float64" if task.kind == "regression" else "int64")
        return inputs

    def metric_columns(self, task, rows):
        """As the base, with the references of rows written before they carried every reference."""
        return super().metric_columns(task, [{**row, "references": _references(row)} for row in rows])

    def report_tables(self, task, rows):
        """The generations farthest from their references by sentence chrF (ties in id order)."""
        from sacrebleu import sentence_chrf

        rows = sorted(rows, key=lambda r: r["id"])
        scored = sorted(((sentence_chrf(r["generation"], _references(r)).score, r) for r in rows), key=lambda x: x[0])
        table = [[f"`{r['id']}`", _cell(" / ".join(_references(r))), _cell(r["generation"]), f"{score:.2f}"]
                 for score, r in scored[:WORST_GENERATIONS]]
        return [ReportTable("Worst generations", f"The {len(table)} generations with the lowest sentence chrF against "
                            "their references.", ["id", "references", "generation", "chrF"], table)]


def _references(row: dict) -> list[str]:
    """A prediction row's references; rows written before they carried every reference hold only the target
    (one-label views have one)."""
    return row.get("references") or [row["target"]]


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ") or "(empty)"


def generation_settings(task: TaskSpec, config) -> GenerationSettings:
    return GenerationSettings(
        language=task.language, bertscore_model=config.bertscore_model, bertscore_revision=config.bertscore_revision,
        bertscore_trust_remote_code=config.bertscore_trust_remote_code, bertscore_layer=config.bertscore_layer,
        bertscore_idf=config.bertscore_idf, bertscore_rescale=config.bertscore_rescale,
        bertscore_baseline=config.bertscore_baseline, batch_size=config.eval_batch_size, device=config.torch_device(),
        precision=config.precision)


def view_task(task: TaskSpec, shape: Shape, **changes) -> TaskSpec:
    """A task's text-to-text view: this shape reading examples of `shape`'s schema, scored by the task's
    own metrics and by exact match, BLEU, chrF, ROUGE-L and BERTScore; outside the suite score."""
    return dataclasses.replace(
        task, name=task.name + GENERATION_SUFFIX, formats=("n2m",), shape=GenerationShape.name, view_of=shape.name,
        metrics=(*task.metrics, *(m for m in VIEW_METRICS if m not in task.metrics)), in_suite_score=False,
        score_group=None, **changes)


register(GenerationShape())
