"""Runners: how a model is trained on a task and asked for its predictions, one contract for every mode.

- base.py: the contract (`Runner`): fit, predict (in the shape's prediction type), timings per phase,
  trainable parameters, the weights' fingerprint, and optional reports with their defaults
  (units --max-length cut off, the step a fine-tune resumed from, training-free extra scores).
- frozen.py: the encoder never trains; a head learns on its cached features (features.py computes
  and caches them, ranks.py shares the computing out over the processes of a torchrun launch). frozen_tokens.py
  holds the token-level shapes' runners and the loop that trains their torch heads.
- finetune.py: the whole model trains with transformers.Trainer (finetune_tokens.py: the token-level
  shapes' runners); checkpoints.py keeps its checkpoints whole, written by time as well as steps, and
  continued only with the settings that made them; training_bar.py draws its console (steps, loss, time left).
- generation.py: text to text, a seq2seq model trained and generating (its encoder fixed in frozen mode).

The heads themselves (pooled probes and their inner-CV search, token encoders, scorers) live in harness/heads/;
the FLOPs every phase costs are counted by harness/flops.py.

May import (pyproject.toml's import contract): harness.heads, harness.models (the one loader), harness.flops,
harness.formats, harness.data (splits), harness.metrics (score types), harness.tasks, harness.config,
harness.precision, harness.preemption, harness.shape_registry. Imported by: the shape modules, which name each
shape's two runner classes, and api.py, which uses only the contract. Only the token-level modules import torch
or transformers at import: a frozen run of a pooled shape whose features are cached loads neither.
"""
from __future__ import annotations

import os


def is_main_process() -> bool:
    """True on the process that writes results (rank 0 under torchrun / accelerate)."""
    return int(os.environ.get("RANK", "0")) == 0
