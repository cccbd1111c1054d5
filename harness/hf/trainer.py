"""A task's official metrics as `transformers.Trainer(compute_metrics=...)`, during a user's own training."""
from __future__ import annotations

from collections.abc import Callable

from harness.hf.scoring import check_lengths, score_rows, task_named
from harness.shape_registry import shape_of


def compute_metrics(task: str, examples: list[dict] | None = None, tokenizer=None, max_length: int = 128
                    ) -> Callable[..., dict[str, float]]:
    """A compute_metrics callable reporting the task's official metrics (0-100) and `main_score`.

    One label per example (GLUE, SuperGLUE's sequence tasks, KLUE-YNAT/NLI/STS/RE) needs nothing more: the
    logits' arg-max (a regression's output, RE's softmax) against the label ids. Grouped tasks (MultiRC,
    AX-g) need `examples`, each with its `group`. Tags (KLUE-NER) are scored per character: `examples` (each
    with its `text` and a tag index per character as `label`), in the evaluation order, and the `tokenizer`
    and `max_length` the evaluation set was tokenized with (harness.formats.n2n.encode aligns them).
    """
    spec = task_named(task)
    to_rows = shape_of(spec).trainer_rows(spec, examples, tokenizer, max_length)

    def compute(prediction) -> dict[str, float]:
        outputs = prediction.predictions
        if isinstance(outputs, tuple):  # models that also return hidden states or attentions: logits first
            outputs = outputs[0]
        if prediction.label_ids is not None:
            check_lengths(spec, {"predictions": len(outputs), "label_ids": len(prediction.label_ids)})
        return score_rows(spec, to_rows(outputs, prediction.label_ids))

    return compute
