"""Every knob of a run in one dataclass, recorded verbatim in each result's provenance."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.errors import ConfigError

MODES = ("frozen", "finetune", "both")
HEADS = ("linear", "mlp")
DEVICES = ("auto", "cpu", "cuda")
# What a fine-tuned sequence classifier reads: the checkpoint's own head (transformers' pooler over the
# first token), or the last layer pooled as the frozen mode pools it (first token or mean) under a linear
# layer, so that frozen and fine-tuned differ only in whether the encoder trains.
FINETUNE_POOLINGS = ("pooler", "cls", "mean")


@dataclass(frozen=True)
class RunConfig:
    # Fine-tuning recipe: transformers' run_glue defaults (AdamW, linear decay, 10% warm-up, weight
    # decay 0.01, batch 32, max length 128) except the learning rate and epochs. 2e-5 leaves small
    # models such as all-MiniLM-L6-v2 near chance after a short run; 1e-4 trains them well, and a
    # fourth epoch lifts STS-B past where three leave it (measured; see README).
    learning_rate: float = 1e-4
    epochs: float = 4.0
    batch_size: int = 32
    eval_batch_size: int = 128
    max_length: int = 128
    doc_stride: int | None = None  # span extraction: tokens shared by consecutive windows (None: max_length // 4)
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    finetune_pooling: str = "pooler"  # one of FINETUNE_POOLINGS
    seed: int = 42
    device: str = "auto"
    # Frozen features and the head trained on them.
    pooling: str = "mean"
    layers: str = "last"
    head: str = "linear"
    # Frozen heads trained with torch (biaffine DP, MRC spans): AdamW epochs and learning rate.
    head_epochs: int = 30
    head_learning_rate: float = 1e-3
    # Text to text (N2M): which view, generation, and BERTScore's model (None: the evaluated model).
    format: str | None = None  # None: each task's own format; "n2m": its text-to-text view
    max_target_length: int = 32
    num_beams: int = 1  # 1: greedy
    max_new_tokens: int = 16
    length_penalty: float = 1.0
    bertscore_model: str | None = None
    bertscore_layer: int | None = None  # None: the last layer
    bertscore_idf: bool = False
    bertscore_rescale: bool = False
    bertscore_baseline: str | None = None  # a local baseline .tsv for rescaling
    # Which examples.
    split_strategy: str = "official"
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    # Behaviour.
    resume: bool = False
    quiet: bool = False

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ConfigError(f"--device {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.finetune_pooling not in FINETUNE_POOLINGS:
            raise ConfigError(f"--finetune-pooling {self.finetune_pooling!r} is not one of {', '.join(FINETUNE_POOLINGS)}")
        if self.head not in HEADS:
            raise ConfigError(f"--head {self.head!r} is not one of {', '.join(HEADS)}")
        if self.format not in (None, "n2m"):
            raise ConfigError(f"--format {self.format!r}: only n2m (the text-to-text view) can be chosen; "
                              "leave it out for each task's own format")
        for name in ("learning_rate", "epochs", "batch_size", "max_length", "head_epochs", "head_learning_rate",
                     "max_target_length", "num_beams", "max_new_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.doc_stride is not None and not 0 <= self.doc_stride < self.max_length // 2:
            raise ConfigError(f"--doc-stride {self.doc_stride} must be at least 0 and below half of --max-length "
                              f"({self.max_length}), or windows would barely advance")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def torch_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu or auto")
        return self.device
