"""Span-pair classification (WiC, WSC): one label from two character spans of a text or text pair.

Each span is the mean of the hidden states of the tokens that overlap it (found through the fast
tokenizer's offsets, within the span's own segment), and the classifier reads [first token, span 1,
span 2, span 1 * span 2]: the sentence's summary, both spans, and how they agree. The same pooling
serves both modes: inside SpanPairModel when fine-tuning, on cached token vectors when frozen.
A span that truncation left without a token is pooled from the first token alone and counted.
"""
from __future__ import annotations

import torch
from torch import nn

from harness.formats.n2n import require_fast_tokenizer

DROPOUT = 0.1


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


def pool_spans(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, width) states and (batch, 2, 2) inclusive token ranges -> (batch, 4 * width)."""
    index = torch.arange(hidden.size(1), device=hidden.device)
    inside = ((index >= positions[..., :1]) & (index <= positions[..., 1:])).to(hidden.dtype)  # (batch, 2, tokens)
    spans = inside @ hidden / inside.sum(-1, keepdim=True).clamp(min=1)
    first, second = spans[:, 0], spans[:, 1]
    return torch.cat([hidden[:, 0], first, second, first * second], dim=-1)


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


class SpanPairModel(nn.Module):
    """An encoder with a linear classifier on pool_spans of its last layer: what fine-tuning trains."""

    def __init__(self, encoder, num_labels: int):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(DROPOUT)
        self.classifier = nn.Linear(4 * encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, span_positions, labels=None, **encoder_inputs):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **encoder_inputs).last_hidden_state
        logits = self.classifier(self.dropout(pool_spans(hidden, span_positions)))
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}
