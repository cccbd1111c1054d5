"""N2N dependency parsing (KLUE-DP): words against tokens, and the parser's outputs back to words.

Words (eojeol) and subword tokens are tied by the fast tokenizer's word ids: a word is represented
by its first subword's hidden state, as in Dozat & Manning's parser on top of BERT-style encoders,
and the root by the first token ([CLS] / <s>); harness/heads/arcs.py scores the arcs and relations.

Words that max_length leaves without a token cannot be parsed; decoding gives them CUT_OFF_HEAD (-1, a
head no gold word has) and the first relation, so they count as errors for UAS and LAS (the baseline
silently drops them; the root, 0, would be the right head of every sentence's last word), and the
runner reports how many there were.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.formats.n2n import IGNORE, require_fast_tokenizer
from harness.metrics.klue import CUT_OFF_HEAD


@dataclass(frozen=True)
class WordAlignment:
    """One sentence's words against its tokens."""

    starts: tuple[int, ...]  # token position of each kept word's first subword
    truncated: int  # words max_length left without a token


def encode(tokenizer, examples: list[dict], max_length: int, relation_index: dict[str, int] | None = None
           ) -> tuple[list[dict], list[WordAlignment]]:
    """Token ids per sentence with each word's first token, and (with `relation_index`) gold arcs."""
    require_fast_tokenizer(tokenizer, "word ids")
    encoded = tokenizer([ex["words"] for ex in examples], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    features, alignments = [], []
    for i, example in enumerate(examples):
        starts: dict[int, int] = {}
        for position, word in enumerate(encoded.word_ids(i)):
            if word is not None and word not in starts:
                starts[word] = position
        kept = len(starts)  # truncation keeps a prefix of the words
        alignment = WordAlignment(tuple(starts[w] for w in range(kept)), len(example["words"]) - kept)
        feature = {"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i],
                   "word_starts": list(alignment.starts)}
        if relation_index is not None:
            # A word whose head was cut off cannot be attached to it: it trains on nothing.
            feature["head_labels"] = [h if h <= kept else IGNORE for h in example["heads"][:kept]]
            feature["relation_labels"] = [relation_index[r] if h <= kept else IGNORE
                                          for h, r in zip(example["heads"][:kept], example["deprels"][:kept])]
        features.append(feature)
        alignments.append(alignment)
    return features, alignments


def pad_integers(lists: list[list[int]], fill: int) -> torch.Tensor:
    """Per-word integer lists -> an (n, longest) long tensor padded with `fill`."""
    longest = max((len(values) for values in lists), default=0)
    return torch.tensor([list(values) + [fill] * (longest - len(values)) for values in lists], dtype=torch.long)


class DependencyCollator:
    """Pads tokens with the tokenizer and the per-word fields to the batch's longest sentence."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        tokens = [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"]} for f in features]
        batch = dict(self.tokenizer.pad(tokens, return_tensors="pt"))
        batch["word_starts"] = pad_integers([f["word_starts"] for f in features], 0)
        lengths = torch.tensor([len(f["word_starts"]) for f in features])
        batch["word_mask"] = torch.arange(batch["word_starts"].size(1))[None, :] < lengths[:, None]
        for key in ("head_labels", "relation_labels"):
            if key in features[0]:
                batch[key] = pad_integers([f[key] for f in features], IGNORE)
        return batch


def decode(predicted_heads: np.ndarray, predicted_relations: np.ndarray, alignments: list[WordAlignment]
           ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Padded per-sentence predictions -> heads and relations per word; words cut off get CUT_OFF_HEAD and
    relation 0."""
    heads, relations = [], []
    for i, alignment in enumerate(alignments):
        kept, total = len(alignment.starts), len(alignment.starts) + alignment.truncated
        sentence_heads, sentence_relations = np.full(total, CUT_OFF_HEAD, np.int64), np.zeros(total, np.int64)
        sentence_heads[:kept] = predicted_heads[i, :kept]
        sentence_relations[:kept] = predicted_relations[i, :kept]
        heads.append(sentence_heads)
        relations.append(sentence_relations)
    return heads, relations
