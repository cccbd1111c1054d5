"""The tag scorer of token tagging (KLUE-NER), for frozen mode: a linear layer giving each token a logit per tag,
on what the token encoder made of the cached token states. Fine-tuning trains transformers' token-classification
head instead; formats/n2n.py ties tags to tokens and decodes them back to characters.
"""
from __future__ import annotations

import torch
from torch import nn

from harness.formats.n2n import IGNORE


class TagScorer(nn.Module):
    """A logit per tag for every token; the loss skips IGNORE (special tokens, later pieces of a character)."""

    def __init__(self, width: int, tags: int):
        super().__init__()
        self.linear = nn.Linear(width, tags)

    def forward(self, tokens: torch.Tensor, token_mask: torch.Tensor, labels: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        logits = self.linear(tokens)
        output = {"predicted_tags": logits.argmax(-1)}
        if labels is not None:
            output["loss"] = nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
        return output
