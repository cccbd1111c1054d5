"""The start/end scorer of span extraction (KLUE-MRC), for frozen mode: transformers' question-answering head
(a linear layer giving each token a start and an end logit), alone on cached token vectors. Fine-tuning trains
transformers' own; formats/spans.py makes the windows and decodes the logits into answers.
"""
from __future__ import annotations

import torch
from torch import nn


class SpanHead(nn.Module):
    """A start and an end logit per token, from its vector: the question-answering head, alone."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.scorer = nn.Linear(hidden_size, 2)

    def forward(self, tokens: torch.Tensor, token_mask: torch.Tensor, start_positions: torch.Tensor | None = None,
                end_positions: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.scorer(tokens).masked_fill(~token_mask[..., None], torch.finfo(tokens.dtype).min)
        start_logits, end_logits = logits.unbind(-1)
        output = {"start_logits": start_logits, "end_logits": end_logits}
        if start_positions is not None:
            output["loss"] = (nn.functional.cross_entropy(start_logits, start_positions)
                              + nn.functional.cross_entropy(end_logits, end_positions)) / 2
        return output
