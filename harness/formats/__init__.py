"""Encoding and decoding building blocks that several shapes share: tokenizing one text or a pair, length
buckets and the pooled classifier (n21.py), character tags <-> tokens (n2n.py), span pooling (span_pairs.py),
the biaffine parser (dependency.py), the start/end scorer over context windows (spans.py), and seq2seq models,
targets and generation (n2m.py).

Nothing here knows a shape's name: harness/shapes/ decides which blocks a task uses. May import:
harness.models, harness.tasks, harness.errors (n2m.py reads the shape registry for a task's generation items).
Imported by: harness.runners, harness.shapes.
"""
