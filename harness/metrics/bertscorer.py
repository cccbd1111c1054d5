"""BERTScore computed here, on a model harness.models loads, giving bert-score's numbers faster.

bert-score's BERTScorer builds its own model and tokenizer from a name, with no revision, no offline
mode and no trust flag, so a run's `--revision` or HF_HUB_OFFLINE=1 would not reach it; and it embeds
sentences in batches ordered by word count. Here the model comes from harness.models, cut after the
layer as bert-score cuts it; every distinct sentence is tokenized by bert-score's own `sent_encode`
(its slow tokenizer and truncation), embedded once, in batches sorted by token count under
torch.inference_mode (and --precision), and each pair is matched greedily on its own tokens. In fp32
the scores equal bert_score.score's within 1e-5 (tests/test_generation_metrics.py, and on
all-MiniLM-L6-v2 in benchmarks/test_bench_generation.py). bert-score still provides what it defines:
the idf weights, the baseline files and the signature (its hash of model, layer, idf, rescaling and
versions).
"""
from __future__ import annotations

import functools
from collections import defaultdict

import torch

from harness.models import ModelRef, hidden_layers, length_buckets, load_model, load_tokenizer
from harness.precision import autocast


class LoadedScorer:
    """BERTScore with `ref` cut after `layer` (None: its last) on `device`, embedding `batch_size` sentences a
    forward pass in `precision`; `baseline` is the .tsv to rescale with, None for raw scores."""

    def __init__(self, ref: ModelRef, name: str, layer: int | None, *, device: str, batch_size: int,
                 baseline: str | None, precision: str = "fp32"):
        self.name, self.device, self.batch_size = name, device, batch_size
        self.baseline, self.precision = baseline, precision
        self.layer = layer if layer is not None else hidden_layers(ref)  # bert-score knows good layers only for
        # the models it lists: here the model's last
        self.tokenizer = load_tokenizer(ref, use_fast=False)  # bert-score's default tokenizer
        self.model = _encoder(load_model(ref, num_hidden_layers=self.layer)).eval().to(device)
        # bert-score truncates at the tokenizer's model_max_length, which a tokenizer saved without one sets to
        # a huge sentinel that tokenizers refuses: cap it at the model's positions.
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions and self.tokenizer.model_max_length > positions:
            self.tokenizer.model_max_length = positions

    def signature(self, idf: bool) -> str:
        """bert-score's hash of these settings (a baseline is always a file named here: "custom" to bert-score)."""
        from bert_score.utils import get_hash

        rescaled = self.baseline is not None
        return get_hash(self.name, self.layer, idf, rescaled, rescaled, False)

    def idf_weights(self, references: list[str]) -> dict:
        """bert-score's idf of each token id over the references (one document each)."""
        from bert_score.utils import get_idf_dict

        return get_idf_dict(references, self.tokenizer, nthreads=0)

    @functools.cached_property
    def baseline_values(self) -> torch.Tensor:
        """The baseline file's (P, R, F) at this layer: a score equal to them rescales to 0."""
        import pandas as pd

        row = pd.read_csv(self.baseline).set_index("LAYER").loc[self.layer]
        return torch.tensor([row["P"], row["R"], row["F"]], dtype=torch.float32)

    def score(self, candidates: list[str], references: list[list[str]], idf: dict | None = None) -> torch.Tensor:
        """(3, candidates): precision, recall and F1 of each candidate against its best reference (each of the
        three the best over the references, as bert-score takes them), rescaled where there is a baseline.
        `idf`: token id -> weight (idf_weights); None weighs every token 1 but the first and separator tokens."""
        weights = idf if idf is not None else self._uniform_weights()
        texts = dict.fromkeys([*candidates, *(r for group in references for r in group)])  # in order: reproducible
        tokens = {text: _encode(self.tokenizer, text) for text in texts}
        embedded = self._embed(tokens)
        rows = []
        for candidate, group in zip(candidates, references):
            per_reference = torch.stack([_greedy_match(embedded[candidate], embedded[reference],
                                                       _weights(tokens[candidate], weights),
                                                       _weights(tokens[reference], weights))
                                         for reference in group])
            rows.append(per_reference.max(dim=0).values)
        scores = torch.stack(rows, dim=1) if rows else torch.zeros(3, 0)
        if self.baseline is not None:
            scores = (scores - self.baseline_values[:, None]) / (1 - self.baseline_values[:, None])
        return scores

    def _uniform_weights(self) -> dict:
        weights = defaultdict(lambda: 1.0)
        weights[self.tokenizer.sep_token_id] = weights[self.tokenizer.cls_token_id] = 0.0
        return weights

    @torch.inference_mode()
    def _embed(self, tokens: dict[str, list[int]]) -> dict[str, torch.Tensor]:
        """Each text's token vectors at the layer, each of unit length, float32 on the CPU: one forward pass per
        batch of texts of similar token counts, padded to the batch's longest."""
        texts = list(tokens)
        features = [{"input_ids": tokens[text]} for text in texts]
        pad = self.tokenizer.pad_token_id or 0
        vectors = {}
        for batch in length_buckets(features, self.batch_size):
            width = max(len(features[i]["input_ids"]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, :len(features[i]["input_ids"])] = torch.tensor(features[i]["input_ids"])
                mask[row, :len(features[i]["input_ids"])] = 1
            with autocast(self.precision, self.device):
                hidden = self.model(ids.to(self.device), attention_mask=mask.to(self.device))[0]
            hidden = hidden.float().cpu()
            hidden = hidden / hidden.norm(dim=-1, keepdim=True)
            for row, i in enumerate(batch):
                vectors[texts[i]] = hidden[row, :len(features[i]["input_ids"])]
        return vectors


def _encode(tokenizer, text: str) -> list[int]:
    """The token ids bert-score scores a text by (stripped, special tokens added, truncated as it truncates)."""
    from bert_score.utils import sent_encode

    return sent_encode(tokenizer, text)


def _weights(ids: list[int], weights: dict) -> torch.Tensor:
    return torch.tensor([weights[i] for i in ids], dtype=torch.float32)


def _greedy_match(candidate: torch.Tensor, reference: torch.Tensor, candidate_weights: torch.Tensor,
                  reference_weights: torch.Tensor) -> torch.Tensor:
    """(P, R, F) of one pair: each token's best cosine on the other side, averaged by the token weights.

    A side of only its two special tokens (a text the tokenizer keeps nothing of) scores P = R = 0, and an
    undefined F (no weight on either side) is 0, as in bert-score."""
    similarity = candidate @ reference.T
    precision = (similarity.max(dim=1).values * candidate_weights).sum() / candidate_weights.sum()
    recall = (similarity.max(dim=0).values * reference_weights).sum() / reference_weights.sum()
    f1 = torch.nan_to_num(2 * precision * recall / (precision + recall), nan=0.0)
    if len(candidate) == 2 or len(reference) == 2:
        precision, recall = precision.new_zeros(()), recall.new_zeros(())
    return torch.stack([precision, recall, f1])


def _encoder(model):
    """An encoder-decoder's encoder (bert-score embeds with the encoder alone), else the model."""
    return model.get_encoder() if model.config.is_encoder_decoder else model


@functools.lru_cache(maxsize=4)
def scorer(ref: ModelRef, name: str, layer: int | None, device: str, batch_size: int, baseline: str | None,
           precision: str = "fp32") -> LoadedScorer:
    """One scorer per model and options, loaded once and reused (bert_score.score reloads on every call)."""
    return LoadedScorer(ref, name, layer, device=device, batch_size=batch_size, baseline=baseline, precision=precision)
