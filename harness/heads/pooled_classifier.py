"""The model --finetune-pooling fine-tunes on N21 tasks: the encoder's last layer pooled as frozen mode pools it,
under a linear layer. Apart from pooled_probes.py because it imports torch, which a frozen pooled run does not load.
"""
from __future__ import annotations

from torch import nn

from harness.models import pool
from harness.tasks import TaskSpec

DROPOUT = 0.1


class PooledClassifier(nn.Module):
    """An encoder whose last layer is pooled as the frozen mode pools it, under a linear layer (--finetune-pooling)."""

    def __init__(self, encoder, task: TaskSpec, pooling: str):
        super().__init__()
        self.encoder, self.pooling, self.regression = encoder, pooling, task.kind == "regression"
        self.dropout = nn.Dropout(DROPOUT)
        self.classifier = nn.Linear(encoder.config.hidden_size, task.num_labels)

    def forward(self, input_ids, attention_mask, labels=None, **encoder_inputs):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                              **encoder_inputs).hidden_states
        logits = self.classifier(self.dropout(pool(hidden, attention_mask, self.pooling, "last")))
        if labels is None:
            return {"logits": logits}
        if self.regression:
            loss = nn.functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
        else:
            loss = nn.functional.cross_entropy(logits, labels)
        return {"loss": loss, "logits": logits}
