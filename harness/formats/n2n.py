"""N2N: a tag per unit of the text (a character, for KLUE-NER), learnt and predicted through subword tokens.

Tokens and characters are tied by the fast tokenizer's offsets. In training a token carries the tag
of the first character it covers, as KLUE's baseline labels subwords; special tokens, and tokens
over characters an earlier token already took (one character split into several byte-level
tokens), carry IGNORE, which the loss skips. Decoding goes back to characters: a token's first
character takes the token's predicted tag and its later characters continue it (I-X after B-X or
I-X, O after O), as the baseline expands subword predictions, so a multi-character token predicted
B-LC stays one entity under strict IOB2. Characters no token covers are O: spaces, and the
characters that max_length cut off, which are counted so a result can say what truncation cost.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError
from harness.tasks import TaskSpec

IGNORE = -100  # transformers' "no label": skipped by the loss, and what the collator pads labels with
OUTSIDE = "O"


@dataclass(frozen=True)
class Alignment:
    """One example's token positions against its characters."""

    spans: tuple[tuple[int, int] | None, ...]  # per token position: the characters [start, end) it tags, or None
    truncated: int  # characters (not spaces) that max_length left without a token


def require_fast_tokenizer(tokenizer, needs: str) -> None:
    """N2N encoders tie tokens to units through what only fast tokenizers give (offsets, word ids)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"{type(tokenizer).__name__} gives no {needs}; N2N tasks need a fast "
                          "tokenizer (a tokenizer.json beside the model, as `tokenizers` writes it)")


def encode(tokenizer, examples: list[dict], max_length: int, with_labels: bool = True
           ) -> tuple[list[dict], list[Alignment]]:
    """Token ids per example (unpadded, with a label per token when asked) and each one's alignment."""
    require_fast_tokenizer(tokenizer, "character offsets")
    encoded = tokenizer([ex["text"] for ex in examples], truncation=True, max_length=max_length,
                        return_offsets_mapping=True)
    features, alignments = [], []
    for i, example in enumerate(examples):
        alignment = align(example["text"], encoded["offset_mapping"][i], encoded.sequence_ids(i),
                          cut=len(encoded["input_ids"][i]) >= max_length)
        feature = {key: encoded[key][i] for key in encoded.keys() if key != "offset_mapping"}
        if with_labels:
            feature["labels"] = [example["label"][span[0]] if span else IGNORE for span in alignment.spans]
        features.append(feature)
        alignments.append(alignment)
    return features, alignments


def align(text: str, offsets: Sequence[tuple[int, int]], sequence_ids: Sequence[int | None], cut: bool) -> Alignment:
    """Each token's characters: its offsets less surrounding whitespace and less what an earlier token took.

    `cut` says the encoding reached max_length: the non-space characters after the last token are
    then the ones truncation dropped.
    """
    spans, covered = [], 0
    for (start, end), sequence in zip(offsets, sequence_ids):
        start = max(start, covered)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if sequence is None or start >= end:
            spans.append(None)
            continue
        spans.append((start, end))
        covered = end
    truncated = sum(not char.isspace() for char in text[covered:]) if cut else 0
    return Alignment(tuple(spans), truncated)


def decode(task: TaskSpec, token_predictions: Sequence[np.ndarray], examples: list[dict],
           alignments: list[Alignment]) -> list[np.ndarray]:
    """Predicted tag indices per token position -> one tag index per character of each example."""
    outside, follow = _outside(task), _continuations(task.labels)
    decoded = []
    for predicted, example, alignment in zip(token_predictions, examples, alignments):
        tags = np.full(len(example["text"]), outside, dtype=np.int64)
        for tag, span in zip(predicted, alignment.spans):
            if span is not None:
                tags[span[0]] = tag
                tags[span[0] + 1:span[1]] = follow[tag]
        decoded.append(tags)
    return decoded


def decode_logits(task: TaskSpec, logits: np.ndarray, examples: list[dict], alignments: list[Alignment]
                  ) -> list[np.ndarray]:
    """Fine-tuned logits (examples, positions, tags), padded past each example's tokens -> character tags."""
    tokens = [logits[i, :len(alignment.spans)].argmax(-1) for i, alignment in enumerate(alignments)]
    return decode(task, tokens, examples, alignments)


def model_kwargs(task: TaskSpec) -> dict:
    """Arguments for AutoModelForTokenClassification: one logit per tag."""
    return {
        "num_labels": len(task.labels),
        "id2label": dict(enumerate(task.labels)),
        "label2id": task.label_ids,
    }


def _outside(task: TaskSpec) -> int:
    if OUTSIDE not in task.labels:
        raise ConfigError(f"{task.id}: an N2N tagging task needs an {OUTSIDE!r} tag in its labels {list(task.labels)}")
    return task.labels.index(OUTSIDE)


def _continuations(labels: Sequence[str]) -> np.ndarray:
    """For each tag, the tag of a token's later characters: I-X after B-X or I-X, the tag itself otherwise."""
    index = {label: i for i, label in enumerate(labels)}
    follow = []
    for i, label in enumerate(labels):
        if label[:2] in ("B-", "I-"):
            inside = "I-" + label[2:]
            if inside not in index:
                raise ConfigError(f"tag {label!r} has no {inside!r} in the label set {list(labels)}; "
                                  "add it to the task's labels")
            follow.append(index[inside])
        else:
            follow.append(i)
    return np.array(follow, dtype=np.int64)
