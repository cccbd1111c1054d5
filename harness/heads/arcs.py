"""The biaffine parser (KLUE-DP): a head and a relation for each word, from word vectors.

The parser scores every (dependent, head) pair with a biaffine product of two small MLP projections plus a
learnt bias per signed distance between the two words (Dozat & Manning read order from a BiLSTM; without
either, a frozen encoder's vectors left the parser at 37% UAS on KLUE-DP, below the 67% of "attach every word
to the next one"), and a relation for each dependent against its head with a bilinear layer per relation.
Heads are each word's arg-max (no tree constraint), as KLUE's baseline decodes them.

The same BiaffineParser trains in both modes: on top of the encoder when fine-tuning (DependencyModel), and
alone on cached token vectors when the encoder is frozen. Words and their first tokens: formats/dependency.py.
"""
from __future__ import annotations

import torch
from torch import nn

from harness.formats.n2n import IGNORE

ARC_SIZE = 256  # Dozat & Manning's projection sizes, scaled down for small encoders
RELATION_SIZE = 128
DROPOUT = 0.2
MAX_DISTANCE = 32  # signed head - dependent distances beyond this share one bias


class BiaffineParser(nn.Module):
    """Arc and relation scorers over word vectors; position 0 of `words` is the root."""

    def __init__(self, hidden_size: int, num_relations: int):
        super().__init__()

        def mlp(size):
            return nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(hidden_size, size), nn.GELU(), nn.Dropout(DROPOUT))

        self.arc_dependent, self.arc_head = mlp(ARC_SIZE), mlp(ARC_SIZE)
        self.relation_dependent, self.relation_head = mlp(RELATION_SIZE), mlp(RELATION_SIZE)
        self.arc_weight = nn.Parameter(torch.zeros(ARC_SIZE, ARC_SIZE))
        self.arc_head_bias = nn.Linear(ARC_SIZE, 1, bias=False)  # how likely a word is to be anyone's head
        self.distance_bias = nn.Embedding(2 * MAX_DISTANCE + 2, 1)  # every clipped distance, and the root
        nn.init.zeros_(self.distance_bias.weight)
        self.relation_weight = nn.Parameter(torch.zeros(num_relations, RELATION_SIZE, RELATION_SIZE))
        self.relation_linear = nn.Linear(2 * RELATION_SIZE, num_relations)

    def forward(self, words: torch.Tensor, word_mask: torch.Tensor, head_labels: torch.Tensor | None = None,
                relation_labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """words: (batch, 1 + words, hidden), the root first; word_mask: (batch, words) for the real words.

        Returns predicted heads and relations per word (and the summed loss when labels are given).
        """
        dependents = words[:, 1:]
        arc_dep, arc_head = self.arc_dependent(dependents), self.arc_head(words)
        arcs = torch.einsum("bid,de,bje->bij", arc_dep, self.arc_weight, arc_head)
        arcs = arcs + self.arc_head_bias(arc_head).transpose(1, 2) + self._distance_bias(arcs.shape[1], arcs.device)
        candidates = torch.cat([torch.ones_like(word_mask[:, :1]), word_mask], dim=1)  # the root and real words
        arcs = arcs.masked_fill(~candidates[:, None, :], torch.finfo(arcs.dtype).min)
        relation_dep, relation_head = self.relation_dependent(dependents), self.relation_head(words)
        predicted_heads = arcs.argmax(-1)
        heads = predicted_heads if head_labels is None else head_labels.clamp(min=0)
        relations = self._relations(relation_dep, relation_head, heads, word_mask)
        output = {"predicted_heads": predicted_heads}
        if head_labels is None or not self.training:  # a training step reads its loss alone
            output["predicted_relations"] = (relations if head_labels is None else self._relations(
                relation_dep, relation_head, predicted_heads, word_mask)).argmax(-1)
        if head_labels is not None:
            loss = nn.functional.cross_entropy(arcs.flatten(0, 1), head_labels.flatten(), ignore_index=IGNORE)
            if relation_labels is not None:
                loss = loss + nn.functional.cross_entropy(relations.flatten(0, 1), relation_labels.flatten(),
                                                          ignore_index=IGNORE)
            output["loss"] = loss
        return output

    def _distance_bias(self, words: int, device) -> torch.Tensor:
        """(words, 1 + words): the bias of word i + 1 taking position j (0 = root) as its head."""
        dependent = torch.arange(1, words + 1, device=device)[:, None]
        head = torch.arange(words + 1, device=device)[None, :]
        bucket = (head - dependent).clamp(-MAX_DISTANCE, MAX_DISTANCE) + MAX_DISTANCE
        bucket = torch.where(head == 0, 2 * MAX_DISTANCE + 1, bucket)
        return self.distance_bias(bucket).squeeze(-1)

    def _relations(self, dependents: torch.Tensor, heads_side: torch.Tensor, heads: torch.Tensor,
                   word_mask: torch.Tensor) -> torch.Tensor:
        """Relation logits (batch, words, relations) of each real word with the head it is given (0 at padding).
        Scored on the real words alone: the bilinear layer per relation is most of a step's work, and padding
        (over half a randomly drawn batch's positions) would otherwise pay for it too."""
        chosen = heads_side.gather(1, heads.unsqueeze(-1).expand(-1, -1, heads_side.size(-1)))[word_mask]
        dependents = dependents[word_mask]
        bilinear = torch.einsum("nd,rde,ne->nr", dependents, self.relation_weight, chosen)
        scores = bilinear + self.relation_linear(torch.cat([dependents, chosen], dim=-1))
        return scores.new_zeros(*word_mask.shape, scores.size(-1)).masked_scatter(word_mask.unsqueeze(-1), scores)


def gather_words(hidden: torch.Tensor, word_starts: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, hidden) -> (batch, 1 + words, hidden): the first token as root, then each word's first token."""
    index = word_starts.unsqueeze(-1).expand(-1, -1, hidden.size(-1))
    return torch.cat([hidden[:, :1], hidden.gather(1, index)], dim=1)


class DependencyModel(nn.Module):
    """An encoder with a BiaffineParser on its last layer: what fine-tuning trains end to end."""

    def __init__(self, encoder, num_relations: int):
        super().__init__()
        self.encoder = encoder
        self.parser = BiaffineParser(encoder.config.hidden_size, num_relations)

    def forward(self, input_ids, attention_mask, word_starts, word_mask, head_labels=None, relation_labels=None,
                **encoder_inputs):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **encoder_inputs).last_hidden_state
        return self.parser(gather_words(hidden, word_starts), word_mask, head_labels, relation_labels)
