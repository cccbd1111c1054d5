"""N2N span extraction (KLUE-MRC): the answer is a span of the context, or nothing (unanswerable).

A question and a long context become several windows of max_length tokens that overlap by doc_stride
tokens (the tokenizer's overflow), so every part of the context is seen. In training a window's
start and end positions are the answer's first and last tokens where the window holds the whole
answer, and the first token ([CLS] / <s>) where it does not or the question has no answer. Decoding
takes, for each question, the best-scoring span (start + end logit, start <= end, at most
MAX_ANSWER_TOKENS long, inside the context) over all its windows, and answers nothing where the
null score (both logits at the first token) of some window beats it, as SQuAD 2.0 systems do. Token
offsets turn the span back into the context's characters.

Fine-tuning trains transformers' question-answering head (a linear start/end scorer) with the
encoder; frozen mode trains the same linear scorer (harness/heads/spans.py) on cached token vectors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.formats.n2n import require_fast_tokenizer

MAX_ANSWER_TOKENS = 30
TOP_K = 20  # start and end candidates per window


@dataclass(frozen=True)
class Window:
    """One window of one question: which example it belongs to and each token's context characters."""

    example: int
    offsets: tuple[tuple[int, int] | None, ...]  # per token: [start, end) in the context, None outside it


def doc_stride(max_length: int, stride: int | None) -> int:
    return stride if stride is not None else max_length // 4


def encode(tokenizer, examples: list[dict], max_length: int, stride: int | None = None, with_labels: bool = True
           ) -> tuple[list[dict], list[Window]]:
    """Windows of every question with its context (unpadded), with start/end positions when asked."""
    require_fast_tokenizer(tokenizer, "character offsets")
    encoded = tokenizer([ex["question"] for ex in examples], [ex["context"] for ex in examples],
                        truncation="only_second", max_length=max_length, stride=doc_stride(max_length, stride),
                        return_overflowing_tokens=True, return_offsets_mapping=True)
    features, windows = [], []
    for i, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        sequence_ids = encoded.sequence_ids(i)
        offsets = tuple(tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][i], sequence_ids))
        feature = {key: encoded[key][i] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
        if with_labels:
            feature["start_positions"], feature["end_positions"] = _positions(examples[example_index], offsets)
        features.append(feature)
        windows.append(Window(example_index, offsets))
    return features, windows


def _positions(example: dict, offsets) -> tuple[int, int]:
    """The first answer's first and last token in this window, or (0, 0) where the window lacks it."""
    if not example["answers"]:
        return 0, 0
    answer = example["answers"][0]
    start_char = answer["answer_start"]
    end_char = start_char + len(answer["text"])
    inside = [i for i, span in enumerate(offsets) if span is not None]
    if not inside or offsets[inside[0]][0] > start_char or offsets[inside[-1]][1] < end_char:
        return 0, 0
    start = next(i for i in inside if offsets[i][1] > start_char)
    end = next(i for i in reversed(inside) if offsets[i][0] < end_char)
    return start, end


def decode(start_logits: np.ndarray, end_logits: np.ndarray, windows: list[Window], examples: list[dict]
           ) -> list[str]:
    """Per-window logits (windows, positions; padding past a window's tokens ignored) -> each question's answer."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for w, window in enumerate(windows):
        length = len(window.offsets)
        starts, ends = start_logits[w, :length], end_logits[w, :length]
        null[window.example] = min(null.get(window.example, np.inf), float(starts[0] + ends[0]))
        context = examples[window.example]["context"]
        for s in np.argsort(starts)[::-1][:TOP_K]:
            if window.offsets[s] is None:
                continue
            for e in np.argsort(ends)[::-1][:TOP_K]:
                if window.offsets[e] is None or e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                score = float(starts[s] + ends[e])
                if score > best.get(window.example, (-np.inf, ""))[0]:
                    best[window.example] = (score, context[window.offsets[s][0]:window.offsets[e][1]])
    answers = []
    for i in range(len(examples)):
        score, text = best.get(i, (-np.inf, ""))
        answers.append(text if score > null.get(i, -np.inf) else "")
    return answers
