"""Trainable heads: every model part that learns to read an encoder's states, whichever mode trains it.

- pooled_probes.py: frozen mode's heads on pooled vectors (sklearn): logistic / ridge regression with their
  L2 strength, and the layer they read, chosen by inner cross-validation on train (or an MLP, --head mlp);
  pairs' [joint, u, v, |u - v|, u * v] features.
- ridge.py: the ridge head's alpha search, every alpha of leave-one-out (or of group folds) read off one
  eigendecomposition of the design's smaller Gram matrix (numpy/scipy).
- pooled_classifier.py: the fine-tuned model of --finetune-pooling, the encoder's last layer pooled as frozen
  mode pools it, under a linear layer (torch).
- token_encoders.py: what reads frozen token states before a task's scorer (scalar mix of the layers, a
  BiLSTM, an MLP or nothing), chained with the scorer by FrozenHead (torch).
- the scorers (torch): tags.py (a logit per tag and token), arcs.py (the biaffine parser, and the encoder
  under it that fine-tuning trains), spans.py (a start and an end logit per token), span_pairs.py (two
  spans pooled and classified, and the encoder under them that fine-tuning trains).

The training loops stay with the runners (harness/runners/: one per mode), which build these heads; each
shape's docstring names the heads its runners use. Only the torch modules import torch, at import: a frozen run
of a pooled shape whose features are cached loads neither torch nor transformers.

May import (pyproject.toml's import contract): harness.formats (n2n's IGNORE label), harness.tasks, harness.models
(layers and pooling), harness.flops (a fit's FLOPs), harness.errors. Imported by: harness.runners.
"""
