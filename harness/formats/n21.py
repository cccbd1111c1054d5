"""N21: a text or text pair -> one label or score, or the best of several candidates.

Tokenization, length-bucketed batches, decoding. Multiple choice (COPA's alternatives, ReCoRD's
entities) is pair classification: each candidate becomes a (text, candidate) pair labelled right or
wrong, every pair is scored, and an example's prediction is its candidate with the highest
probability of being right.
"""
from __future__ import annotations

import numpy as np

from harness.models import length_buckets  # noqa: F401  (runners and n2m batch with it from here)
from harness.tasks import TaskSpec


def tokenize(tokenizer, examples: list[dict], max_length: int, with_labels: bool = True) -> list[dict]:
    """Token ids per example, unpadded (padding happens per batch, to that batch's longest)."""
    texts = [ex["text"] for ex in examples]
    pairs = [ex["text_pair"] for ex in examples] if examples and "text_pair" in examples[0] else None
    encoded = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    features = [{key: encoded[key][i] for key in encoded.keys()} for i in range(len(examples))]
    if with_labels:
        for feature, example in zip(features, examples):
            feature["labels"] = example["label"]
    return features


def single_texts(examples: list[dict], field: str) -> list[dict]:
    """One side of each pair as its own example (for the training-free cosine of similarity tasks)."""
    return [{"id": ex["id"], "text": ex[field], "label": ex["label"]} for ex in examples]


def model_kwargs(task: TaskSpec) -> dict:
    """Arguments for AutoModelForSequenceClassification: the head's size and loss."""
    if task.kind == "regression":
        return {"num_labels": 1, "problem_type": "regression"}
    return {
        "num_labels": task.num_labels,
        "problem_type": "single_label_classification",
        "id2label": dict(enumerate(task.labels)),
        "label2id": task.label_ids,
    }


def decode(task: TaskSpec, logits: np.ndarray) -> np.ndarray:
    """Logits -> the predicted class index, or the predicted score for regression."""
    if task.kind == "regression":
        return logits.reshape(-1).astype(float)
    return logits.argmax(-1)


def references(examples: list[dict]) -> np.ndarray:
    return np.array([ex["label"] for ex in examples])
