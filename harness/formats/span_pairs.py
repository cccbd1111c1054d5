"""Span-pair classification (WiC, WSC): one label from two character spans of a text or text pair.

Each span's tokens are those that overlap it (found through the fast tokenizer's offsets, within the span's
own segment): encode gives each span's first and last, which harness/heads/span_pairs.py pools and classifies.
A span that truncation left without a token is pooled from the first token alone and counted.
"""
from __future__ import annotations

import torch

from harness.formats.n2n import require_fast_tokenizer


def encode(tokenizer, examples: list[dict], max_length: int, with_labels: bool = True) -> tuple[list[dict], int]:
    """Token ids with each span's first and last token (inclusive), and how many spans lost every token."""
    require_fast_tokenizer(tokenizer, "character offsets")
    pairs = [ex["text_pair"] for ex in examples] if examples and "text_pair" in examples[0] else None
    encoded = tokenizer([ex["text"] for ex in examples], pairs, truncation=True, max_length=max_length,
                        return_offsets_mapping=True)
    features, truncated = [], 0
    for i, example in enumerate(examples):
        segments, offsets = encoded.sequence_ids(i), encoded["offset_mapping"][i]
        positions = []
        for segment, start, end in example["spans"]:
            tokens = [t for t, (first, last) in enumerate(offsets)
                      if segments[t] == segment and first < end and last > start]
            positions.append([tokens[0], tokens[-1]] if tokens else [0, 0])
            truncated += not tokens
        feature = {key: encoded[key][i] for key in encoded.keys() if key != "offset_mapping"}
        feature["span_positions"] = positions
        if with_labels:
            feature["labels"] = example["label"]
        features.append(feature)
    return features, truncated


class SpanPairCollator:
    """Pads tokens with the tokenizer; span positions and labels stack as they are."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        tokens = [{k: v for k, v in f.items() if k not in ("span_positions", "labels")} for f in features]
        batch = dict(self.tokenizer.pad(tokens, return_tensors="pt"))
        batch["span_positions"] = torch.tensor([f["span_positions"] for f in features])
        if "labels" in features[0]:
            batch["labels"] = torch.tensor([f["labels"] for f in features])
        return batch
