"""bert-score's BERTScorer on a model and tokenizer that harness.models loads.

BERTScorer builds its own model and tokenizer from a name, with no revision, no offline mode and no
trust flag, so a run's `--revision` or HF_HUB_OFFLINE=1 would not reach BERTScore. Here they come
from harness.models like every other model, and everything else (scoring, idf weights, baseline
rescaling, the signature hash) stays bert-score's own code, so the values are bert-score's.
"""
from __future__ import annotations

import functools

from bert_score import BERTScorer

from harness.models import ModelRef, load_config, load_model, load_tokenizer


class LoadedScorer(BERTScorer):
    """BERTScorer whose model is `ref` cut after `layer` (None: its last), as bert-score cuts it."""

    def __init__(self, ref: ModelRef, name: str, layer: int | None, *, idf: bool, device: str, batch_size: int,
                 language: str, baseline: str | None):
        # What BERTScorer.__init__ sets, but for its model and tokenizer (bert-score 0.3.13's attributes).
        self.device, self.batch_size, self.nthreads, self.all_layers = device, batch_size, 4, False
        self._lang, self._idf, self._idf_dict, self._use_fast_tokenizer = language, idf, None, False
        self._rescale_with_baseline, self._baseline_vals = baseline is not None, None
        self.baseline_path, self.use_custom_baseline = baseline, baseline is not None
        self._model_type = name  # the name signatures carry
        self._num_layers = layer if layer is not None else last_layer(ref)
        self._tokenizer = load_tokenizer(ref, use_fast=False)  # bert-score's default tokenizer
        self._model = _encoder(load_model(ref, num_hidden_layers=self._num_layers)).eval().to(device)
        # bert-score truncates at the tokenizer's model_max_length, which a tokenizer saved without one sets to
        # a huge sentinel that tokenizers refuses: cap it at the model's positions.
        positions = getattr(self._model.config, "max_position_embeddings", None)
        if positions and self._tokenizer.model_max_length > positions:
            self._tokenizer.model_max_length = positions


def _encoder(model):
    """An encoder-decoder's encoder (bert-score embeds with the encoder alone), else the model."""
    return model.get_encoder() if model.config.is_encoder_decoder else model


def last_layer(ref: ModelRef) -> int:
    """BERTScore's default layer here: the model's last (bert-score knows good layers only for models it lists)."""
    config = load_config(ref)
    return int(getattr(config, "num_hidden_layers", None) or config.num_layers)


@functools.lru_cache(maxsize=4)
def scorer(ref: ModelRef, name: str, layer: int | None, idf: bool, device: str, batch_size: int, language: str,
           baseline: str | None) -> LoadedScorer:
    """One scorer per model and options, loaded once and reused (bert_score.score reloads on every call)."""
    return LoadedScorer(ref, name, layer, idf=idf, device=device, batch_size=batch_size, language=language,
                        baseline=baseline)
