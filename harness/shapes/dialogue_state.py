"""A dialogue state generated as text (`dialogue_state`): KLUE-WoS.

Examples (read by data/klue's WoS reader) hold the user turn as `text`, the dialogue so far as
`history`, the `dialogue` it belongs to, and the state after the turn as domain-slot-value items in
`label`. The model writes the state as "domain-slot=value, ..."; it is read back for KLUE's joint goal
accuracy and slot micro F1, beside the generation metrics.
"""
from __future__ import annotations

from harness.formats import n2m
from harness.metrics.klue import WOS_METRICS, compute_wos_scores, wos_statistics
from harness.shapes import register
from harness.shapes.generation import GenerationShape
from harness.shapes.sequence import one_label_example


class DialogueStateShape(GenerationShape):
    name = "dialogue_state"

    def read(self, task, values, example_id, where):
        return one_label_example(task, values, example_id, where)

    def generation_item(self, task, example):
        """"<task>: user turn" and the history, latest turn first (truncation drops the oldest) -> the state."""
        return {"source": f"{n2m.base_name(task)}: {example['text']}",
                "source_pair": " | ".join(reversed(example["history"])), "references": [n2m.state_text(example["label"])]}

    def generation_scores(self, task, examples, generations, config):
        """Joint goal accuracy and slot micro F1 of the generated states; an unreadable one is empty."""
        read = [n2m.read_state(text) for text in generations]
        states = [items if items is not None else [] for items in read]
        own = [m for m in task.metrics if m in WOS_METRICS]
        return compute_wos_scores(own, states, [ex["label"] for ex in examples]), read.count(None)

    def generation_units(self, task, rows, generations, references):
        return [wos_statistics([m for m in task.metrics if m in WOS_METRICS],
                               [n2m.read_state(generation) or [] for generation in generations],
                               [n2m.read_state(refs[0]) for refs in references])]


register(DialogueStateShape())
