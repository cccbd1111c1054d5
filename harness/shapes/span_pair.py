"""One label from two spans' pooled vectors (`span_pair`): WiC's target words, WSC's candidate and pronoun.

Examples are one-label examples plus `spans`: two [segment, start, end) character spans (segment 0 =
text, 1 = text_pair). Each span is the mean of the hidden states of its tokens (fast-tokenizer
offsets); the classifier reads [first token, span 1, span 2, span 1 x span 2] in both modes (heads/span_pairs.py;
frozen mode: a pooled probe of heads/pooled_probes.py on it, its layer chosen on train).
"""
from __future__ import annotations

import re

from harness.data.values import is_integer
from harness.errors import DataError
from harness.runners.finetune_tokens import FinetuneSpanPairRunner
from harness.runners.frozen_tokens import FrozenSpanPairRunner
from harness.shapes import register
from harness.shapes.base import Shape
from harness.shapes.sequence import SequenceShape, one_label_example


class SpanPairShape(SequenceShape):
    name = "span_pair"
    truncated_unit = "spans"
    text_fields = ("text", "text_pair", "span?_text")
    frozen_runner = FrozenSpanPairRunner
    finetune_runner = FinetuneSpanPairRunner
    view = Shape.view  # no text-to-text view: a label word cannot say which spans were meant

    def read(self, task, values, example_id, where):
        example = one_label_example(task, values, example_id, where)
        example["spans"] = _span_pair(values, where)
        return example


def _span_pair(values: dict, where: str) -> list[list[int]]:
    """Two [segment, start, end) character spans, from WiC's offsets or WSC's word indices, each checked."""
    if "start1" in values:  # WiC: the target word in each sentence, exclusive character ends
        spans = [[0, values["start1"], values["end1"]], [1, values["start2"], values["end2"]]]
    else:  # WSC: a candidate span and the pronoun, each as the index of its first word and its text
        spans = [[0, *_word_span(values["text"], values[f"span{n}_index"], values[f"span{n}_text"], f"span{n}",
                                 where)] for n in (1, 2)]
    for n, (segment, start, end) in enumerate(spans, start=1):
        text = values["text" if segment == 0 else "text_pair"]
        if not (is_integer(start) and is_integer(end) and 0 <= start < end <= len(text)):
            raise DataError(f"{where}: span {n} ({start}..{end}) is not a non-empty character range inside its "
                            f"sentence of {len(text)} characters (start{n} and end{n}, end exclusive)")
    return spans


def _word_span(text: str, index, span_text, name: str, where: str) -> tuple[int, int]:
    """Characters of the words [index, index + words in span_text) of the whitespace-split text.

    The offsets are what counts: the official WSC files hold span texts that differ from the words at
    their index in case or attached punctuation ('The lawyer' at 'the lawyer', 'him' at 'him,"').
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    length = len(str(span_text).split()) or 1
    if not is_integer(index) or not 0 <= index <= len(words) - length:
        raise DataError(f"{where}: {name}_index {index!r} with {length} word(s) ({span_text!r}) lies outside the "
                        f"text of {len(words)} words; the index counts whitespace-separated words from 0")
    return words[index][0], words[index + length - 1][1]


register(SpanPairShape())
