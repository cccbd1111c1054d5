"""Frozen token heads: what reads a frozen encoder's token states before a task's own scorer.

Feature-based protocols close most of the gap to fine-tuning only with two things a last-layer
linear probe lacks (Peters, Ruder & Smith 2019; the BERT paper's feature-based NER):

- a **scalar mix** of every hidden state (ELMo, jiant): softmax-normalised weights, one per layer,
  and a scale gamma, learnt with the head, because the layer that serves a task best is rarely the
  last (syntax peaks in the middle layers);
- a **token encoder** that gives the frozen states back some context the task can train: a two-layer
  BiLSTM (the BERT paper's feature-based NER), a one-hidden-layer MLP, or nothing (linear).

FrozenHead chains the three: mix (when the states hold every layer), encoder, then the task's scorer
(tags.TagScorer, arcs.BiaffineParser, spans.SpanHead), which computes the predictions and the loss from the
batch as before.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

HIDDEN_SIZE = 128  # the BiLSTM's per-direction size (and the MLP's width); the BERT paper's feature-based NER used 768, too slow on CPU
DROPOUT = 0.2


class ScalarMix(nn.Module):
    """gamma * sum_l softmax(w)_l * state_l over every hidden state: (..., layers, width) -> (..., width)."""

    def __init__(self, layers: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(layers))  # starts as the plain mean of the layers
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        return self.logits.softmax(0)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.gamma * torch.einsum("...lw,l->...w", states, self.weights())

    def summary(self) -> dict:
        """What the mix learnt, for the run's record: each layer's weight (0 = embeddings) and gamma."""
        weights = self.weights().detach()
        return {"layer_weights": [round(float(w), 4) for w in weights], "gamma": round(float(self.gamma.detach()), 4),
                "top_layer": int(weights.argmax())}


class BiLSTM(nn.Module):
    """Two bidirectional LSTM layers over each sequence's real positions (packed, so padding never leaks in)."""

    def __init__(self, width: int):
        super().__init__()
        self.dropout = nn.Dropout(DROPOUT)
        self.lstm = nn.LSTM(width, HIDDEN_SIZE, num_layers=2, bidirectional=True, batch_first=True, dropout=DROPOUT)
        self.width = 2 * HIDDEN_SIZE

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(self.dropout(states), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=states.size(1))
        return self.dropout(output)

    def forward_flops(self, states: torch.Tensor, lengths: torch.Tensor) -> float:
        """The matmul FLOPs FlopCounterMode counts for this pass: per real token, direction and layer, the four
        gates' products with the layer's input and the previous hidden state (2 per multiply-add)."""
        gates = 4 * HIDDEN_SIZE
        per_token = gates * (states.size(-1) + HIDDEN_SIZE) + gates * (2 * HIDDEN_SIZE + HIDDEN_SIZE)
        return 2.0 * 2 * per_token * float(lengths.sum())


class MLP(nn.Module):
    """One hidden layer per token, no context."""

    def __init__(self, width: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(width, HIDDEN_SIZE), nn.GELU(), nn.Dropout(DROPOUT))
        self.width = HIDDEN_SIZE

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.layers(states)


class Linear(nn.Module):
    """No encoder: the scorer reads the states themselves (a linear probe under a linear scorer)."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return states


ENCODERS = {"bilstm": BiLSTM, "mlp": MLP, "linear": Linear}  # config.TOKEN_HEADS names them


class FrozenHead(nn.Module):
    """Scalar mix (when `layers` is given), token encoder, then the task's scorer on the batch's `field`.

    Batches carry the states in `field` ((batch, positions, layers, width) for the mix, else
    (batch, positions, width)) and each sequence's length in `lengths`; everything else goes to the scorer.
    """

    def __init__(self, field: str, width: int, layers: int | None, encoder: str, scorer: Callable[[int], nn.Module]):
        super().__init__()
        self.field = field
        self.mix = ScalarMix(layers) if layers else None
        self.encoder = ENCODERS[encoder](width)
        self.scorer = scorer(self.encoder.width)

    def forward(self, lengths: torch.Tensor, **batch) -> dict[str, torch.Tensor]:
        states = batch[self.field]
        if self.mix is not None:
            states = self.mix(states)
        batch[self.field] = self.encoder(states, lengths)
        return self.scorer(**batch)

    def summary(self) -> dict:
        return self.mix.summary() if self.mix is not None else {}
