"""The span-pair classifier (WiC, WSC): each span is the mean of the hidden states of its tokens, and the
classifier reads [first token, span 1, span 2, span 1 * span 2]: the sentence's summary, both spans, and how
they agree. The same pooling serves both modes: inside SpanPairModel when fine-tuning, on every hidden state's
cached token vectors under a pooled probe when frozen. The spans' tokens: formats/span_pairs.py.
"""
from __future__ import annotations

import torch
from torch import nn

DROPOUT = 0.1


def pool_spans(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, width) states and (batch, 2, 2) inclusive token ranges -> (batch, 4 * width)."""
    index = torch.arange(hidden.size(1), device=hidden.device)
    inside = ((index >= positions[..., :1]) & (index <= positions[..., 1:])).to(hidden.dtype)  # (batch, 2, tokens)
    spans = inside @ hidden / inside.sum(-1, keepdim=True).clamp(min=1)
    first, second = spans[:, 0], spans[:, 1]
    return torch.cat([hidden[:, 0], first, second, first * second], dim=-1)


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
