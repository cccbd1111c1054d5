"""Text to text in both modes: a seq2seq model (or a warm-started encoder-decoder) trained teacher-forced
with transformers.Trainer, then generating over length-sorted batches.

Frozen mode is the same recipe with the encoder's weights fixed: the decoder and its cross-attention
learn to read the frozen encoder, as the frozen probes of the other formats learn a head on it.
"""
from __future__ import annotations

from pathlib import Path

from harness.formats import n2m
from harness.runners.finetune import FinetuneRunner


class FinetuneGenerationRunner(FinetuneRunner):
    sequence_head = False

    def _build_model(self):
        model = n2m.load_seq2seq(self.model_ref, self.tokenizer)
        return model, model

    def _collator(self):
        return n2m.Seq2SeqCollator(self.tokenizer)

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        return n2m.encode(self.tokenizer, n2m.generation_examples(self.task, examples), self.config.max_length,
                          self.config.max_target_length, self.model, with_targets=with_labels)

    def predict(self, examples: list[dict], split: str = "eval") -> list[str]:
        cfg = self.config
        features = self._features(examples, with_labels=False)
        with self.timed("evaluation_s"):
            return n2m.generate(self.model, self.tokenizer, features, batch_size=cfg.eval_batch_size,
                                num_beams=cfg.num_beams, max_new_tokens=cfg.max_new_tokens,
                                length_penalty=cfg.length_penalty, device=cfg.torch_device(), quiet=cfg.quiet,
                                precision=cfg.precision)


class FrozenGenerationRunner(FinetuneGenerationRunner):
    """The encoder's weights fixed; the decoder and cross-attention train."""

    mode = "frozen"

    def __init__(self, task, extractor, checkpoint_dir: Path, config=None):
        """`config`: the run's settings where they differ from the extractor's (a learning rate chosen on train)."""
        super().__init__(task, extractor.model_ref, config or extractor.config, checkpoint_dir)
        n2m.freeze_encoder(self.model)
