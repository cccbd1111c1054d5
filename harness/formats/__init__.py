"""Encoding and decoding building blocks that several shapes share: tokenizing one text or a pair and length
buckets (n21.py), character tags <-> tokens (n2n.py), two spans' tokens (span_pairs.py), words' first tokens
and parses back to words (dependency.py), context windows and answers from start/end logits (spans.py), and
seq2seq models, targets and generation (n2m.py). The trainable heads that read the encodings: harness/heads/.

Nothing here knows a shape's name: harness/shapes/ decides which blocks a task uses. May import
(pyproject.toml's import contract): harness.data, harness.tasks, harness.metrics, harness.shape_registry (n2m.py
reads a task's generation items), harness.config, harness.models, harness.precision, harness.errors.
Imported by: harness.heads, harness.runners, harness.shapes.
"""
