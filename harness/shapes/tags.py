"""A tag per character (`tags`): KLUE-NER.

Examples hold the sentence as `text`, its `chars`, and one tag per character as names (`tags`) and
indices (`label`). Both modes tag tokens (formats/n2n aligns characters to tokens and back): fine-tuning with
transformers' token-classification head, frozen mode with heads/tags.py's scorer under a token encoder
(heads/token_encoders.py); scored by KLUE's entity-level (strict IOB2) and character-level macro F1.
"""
from __future__ import annotations

import numpy as np

from harness.data.labels import encode_label
from harness.data.records import tagged_example
from harness.errors import ConfigError, DataError
from harness.formats import n2n
from harness.metrics.klue import baseline_sentences, compute_tagging_scores, tagging_statistics
from harness.runners.finetune_tokens import FinetuneTokenRunner
from harness.runners.frozen_tokens import FrozenTokenRunner
from harness.shapes import register
from harness.shapes.base import ReportTable, Shape, check_prediction_count, most_frequent
from harness.tasks import TaskSpec


class TagsShape(Shape):
    name = "tags"
    truncated_unit = "characters"
    hub_task = ("token-classification", "Token Classification")
    frozen_runner = FrozenTokenRunner
    finetune_runner = FinetuneTokenRunner

    def read(self, task, values, example_id, where):
        """A Hub row with characters and one tag per character (ClassLabel indices or names)."""
        chars, tags = list(values["chars"]), list(values["label"])
        if len(chars) != len(tags):
            raise DataError(f"{where}: {len(chars)} characters but {len(tags)} tags; every character needs exactly one tag")
        labels = []
        for position, (char, tag) in enumerate(zip(chars, tags)):
            here = f"{where}, character {position} ({char!r})"
            if len(char) != 1:
                raise DataError(f"{here}: expected one character per position, found {len(char)}")
            label = encode_label(task, tag, here)
            if label is None:
                raise DataError(f"{here}: no tag; every character needs one (O outside entities)")
            labels.append(label)
        return tagged_example(task, example_id, chars, labels)

    def baseline(self, task, train):
        """Each character's most frequent tag in the training sentences; a character never seen there gets the
        most frequent tag of all (O)."""
        seen: dict[str, list[int]] = {}
        for ex in train:
            for char, tag in zip(ex["chars"], ex["label"]):
                seen.setdefault(char, []).append(tag)
        overall = most_frequent([tag for ex in train for tag in ex["label"]])
        tag_of = {char: most_frequent(tags) for char, tags in seen.items()}
        return lambda examples: [np.array([tag_of.get(char, overall) for char in ex["chars"]], dtype=np.int64)
                                 for ex in examples]

    def score(self, task, examples, predictions, config):
        return compute_tagging_scores(task.metrics, predictions, [ex["label"] for ex in examples],
                                      [ex["chars"] for ex in examples], task.labels)

    def rows(self, task, examples, predictions, fold):
        """One tag index per character, in the task's label order."""
        return [{"id": ex["id"], "fold": fold, "text": ex["text"], "label": list(ex["label"]),
                 "prediction": predictions[i].tolist()} for i, ex in enumerate(examples)]

    def units(self, task, rows):
        """Per sentence: entity and character counts (harness.metrics.klue.ner)."""
        return [row["id"] for row in rows], [tagging_statistics(
            task.metrics, [row["prediction"] for row in rows], [row["label"] for row in rows],
            [list(row["text"]) for row in rows], task.labels)]

    def metric_inputs(self, task):
        """A tag index per character predicted and gold (the task's label order), and the sentence."""
        return {"predictions": ("prediction", ["int64"]), "references": ("label", ["int64"]), "texts": ("text", "string")}

    def trainer_rows(self, task, examples, tokenizer, max_length):
        """Token logits -> a tag per character, as harness decodes them (formats/n2n), for examples tokenized
        by this tokenizer at this max_length; the gold is each example's character tags."""
        if examples is None or tokenizer is None:
            raise ConfigError(f"{task.id} is scored per character: pass examples= (the evaluation examples in "
                              "order, each with its 'text' and a tag index per character as 'label') and tokenizer=")
        alignments = n2n.encode(tokenizer, examples, max_length, with_labels=False)[1]

        def rows(outputs, label_ids):
            check_prediction_count(task, examples, len(outputs))
            tags = n2n.decode_logits(task, outputs, examples, alignments)
            return [{"id": i, "text": ex["text"], "label": list(ex["label"]), "prediction": predicted.tolist()}
                    for i, (ex, predicted) in enumerate(zip(examples, tags))]
        return rows

    def report_tables(self, task, rows):
        """Entity precision / recall / F1 per type, scored as the task's entity F1 is (strict IOB2, KLUE's sequences)."""
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2

        characters = [list(row["text"]) for row in rows]
        gold = baseline_sentences([row["label"] for row in rows], characters, task.labels)
        predicted = baseline_sentences([row["prediction"] for row in rows], characters, task.labels)
        report = classification_report(gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        table = [[kind, f"{100 * v['precision']:.2f}", f"{100 * v['recall']:.2f}", f"{100 * v['f1-score']:.2f}",
                  str(int(v["support"]))] for kind, v in report.items() if not kind.endswith(" avg")]
        return [ReportTable("Per entity type", "Strict IOB2 entities, as ner_entity_macro_f1 counts them.",
                            ["type", "precision", "recall", "F1", "support"], table)]


register(TagsShape())
