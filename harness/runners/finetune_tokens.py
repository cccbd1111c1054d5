"""Fine-tuning runners of the token-level shapes (tags, spans, span pairs, arcs): finetune.py's machinery with
each shape's pieces.

FinetuneTokenRunner: a token-classification head, a per-token label collator, and decoding of token logits
back to characters; FinetuneSpanRunner: transformers' question-answering head over windows of each context;
FinetuneSpanPairRunner and FinetuneDependencyRunner: harness's own torch models on the encoder (a span-pair
classifier, a biaffine parser: harness/heads/). Apart from finetune.py because they import torch.
"""
from __future__ import annotations

import numpy as np
import torch

from harness.formats import dependency, n2n, span_pairs, spans
from harness.heads.arcs import DependencyModel
from harness.heads.span_pairs import SpanPairModel
from harness.models import load_model
from harness.runners.finetune import FinetuneRunner


class FinetuneTokenRunner(FinetuneRunner):
    """N2N: a token-classification head trained on per-token labels; logits decoded back to characters."""

    sequence_head = False

    def _auto_class(self):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def _model_kwargs(self) -> dict:
        return n2n.model_kwargs(self.task)

    def _collator(self):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(self.tokenizer, label_pad_token_id=n2n.IGNORE)

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        return n2n.encode(self.tokenizer, examples, self.config.max_length, with_labels)[0]

    def predict(self, examples: list[dict], split: str = "eval") -> list[np.ndarray]:
        features, alignments = n2n.encode(self.tokenizer, examples, self.config.max_length, with_labels=False)
        logits = self._outputs(features)
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return n2n.decode_logits(self.task, logits, examples, alignments)


class FinetuneSpanRunner(FinetuneRunner):
    """Span extraction: transformers' question-answering head over windows of each context."""

    sequence_head = False

    def _auto_class(self):
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering

    def _model_kwargs(self) -> dict:
        return {}

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        return spans.encode(self.tokenizer, examples, self.config.max_length, self.config.doc_stride, with_labels)[0]

    def predict(self, examples: list[dict], split: str = "eval") -> list[str]:
        features, windows = spans.encode(self.tokenizer, examples, self.config.max_length, self.config.doc_stride,
                                         with_labels=False)
        start_logits, end_logits = self._outputs(features)
        return spans.decode(start_logits, end_logits, windows, examples)


class FinetuneSpanPairRunner(FinetuneRunner):
    """WiC / WSC: the encoder and a linear classifier on its pooled span pair train together."""

    sequence_head = False  # it pools the two spans, not the sequence

    def _build_model(self):
        encoder = load_model(self.model_ref)
        return SpanPairModel(encoder, self.task.num_labels), encoder

    def _collator(self):
        return span_pairs.SpanPairCollator(self.tokenizer)

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        features, self.truncated = span_pairs.encode(self.tokenizer, examples, self.config.max_length, with_labels)
        return features


class FinetuneDependencyRunner(FinetuneRunner):
    """N2N dependency parsing: the encoder and a biaffine arc / relation scorer train together."""

    sequence_head = False

    def _build_model(self):
        encoder = load_model(self.model_ref)
        return DependencyModel(encoder, len(self.task.labels)), encoder

    def _collator(self):
        return dependency.DependencyCollator(self.tokenizer)

    def _optimizer(self):
        """AdamW with the new parser at --head-learning-rate: at the encoder's rate, its zero-initialised
        biaffine weights barely move in a few hundred steps."""
        groups = [{"params": self.model.encoder.parameters(), "lr": self.config.learning_rate},
                  {"params": self.model.parser.parameters(), "lr": self.config.head_learning_rate}]
        return torch.optim.AdamW(groups, weight_decay=self.config.weight_decay)

    def _features(self, examples: list[dict], with_labels: bool = True) -> list[dict]:
        relations = self.task.label_ids if with_labels else None
        return dependency.encode(self.tokenizer, examples, self.config.max_length, relations)[0]

    def predict(self, examples: list[dict], split: str = "eval") -> tuple[list[np.ndarray], list[np.ndarray]]:
        features, alignments = dependency.encode(self.tokenizer, examples, self.config.max_length)
        heads, relations = self._outputs(features)
        self.truncated = sum(alignment.truncated for alignment in alignments)
        return dependency.decode(heads, relations, alignments)
