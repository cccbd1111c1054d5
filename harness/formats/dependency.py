"""N2N dependency parsing (KLUE-DP): a head and a relation per word, scored by a biaffine parser.

Words (eojeol) and subword tokens are tied by the fast tokenizer's word ids: a word is represented
by its first subword's hidden state, as in Dozat & Manning's parser on top of BERT-style encoders,
and the root by the first token ([CLS] / <s>). The parser scores every (dependent, head) pair with a
biaffine product of two small MLP projections plus a learnt bias per signed distance between the two
words (Dozat & Manning read order from a BiLSTM; without either, a frozen encoder's vectors left the
parser at 37% UAS on KLUE-DP, below the 67% of "attach every word to the next one"), and a relation
for each dependent against its head with a bilinear layer per relation. Heads are each word's arg-max (no tree constraint), as KLUE's
baseline decodes them.

The same BiaffineParser trains in both modes: on top of the encoder when fine-tuning
(DependencyModel), and alone on cached token vectors when the encoder is frozen.

Words that max_length leaves without a token cannot be parsed; decoding gives them CUT_OFF_HEAD (-1, a
head no gold word has) and the first relation, so they count as errors for UAS and LAS (the baseline
silently drops them; the root, 0, would be the right head of every sentence's last word), and the
runner reports how many there were.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.formats.n2n import IGNORE, require_fast_tokenizer
from harness.metrics.klue import CUT_OFF_HEAD

ARC_SIZE = 256  # Dozat & Manning's projection sizes, scaled down for small encoders
RELATION_SIZE = 128
DROPOUT = 0.2
MAX_DISTANCE = 32  # signed head - dependent distances beyond this share one bias


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
        relations = self._relations(relation_dep, relation_head, heads)
        output = {"predicted_heads": predicted_heads}
        if head_labels is None or not self.training:  # a training step reads its loss alone
            output["predicted_relations"] = (relations if head_labels is None else
                                             self._relations(relation_dep, relation_head, predicted_heads)).argmax(-1)
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

    def _relations(self, dependents: torch.Tensor, heads_side: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """Relation logits (batch, words, relations) of each dependent with the head it is given."""
        chosen = heads_side.gather(1, heads.unsqueeze(-1).expand(-1, -1, heads_side.size(-1)))
        bilinear = torch.einsum("bid,rde,bie->bir", dependents, self.relation_weight, chosen)
        return bilinear + self.relation_linear(torch.cat([dependents, chosen], dim=-1))


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
