"""Where examples come from: official files (files.py, with the KLUE and SuperGLUE readers) or the Hub
(hub.py), turned into examples by the task's shape, and split for a run (splits.py: official, holdout,
k-fold, caps).

An example is a dict with `id` naming where it came from (file line or Hub row) and what its shape's
schema holds (each module of harness/shapes says); N21 examples hold `text`, optional `text_pair` and
`label` (a class index, a float score, or None when unlabelled). May import (pyproject.toml's
import contract): harness.tasks, harness.metrics, harness.shape_registry (a task's schema), harness.config,
harness.hub, harness.errors. Imported by: formats, runners, shapes, api.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import DataError


def load_json(path: Path, kind: str):
    """A whole JSON file; bad JSON names the file, line and column, an unreadable file says what it expected."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err}); is it a UTF-8 {kind} JSON file?") from err


@dataclass
class DataSplit:
    """One split of one task, with where it came from (for provenance)."""

    name: str
    examples: list[dict]
    source: dict = field(default_factory=dict)  # {"kind": "file", "path", "sha256"} or {"kind": "hub", ...}

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def labelled(self) -> bool:
        return bool(self.examples) and all(has_gold(ex) for ex in self.examples)


def has_gold(example: dict) -> bool:
    """A label, or (dependency parsing, whose gold is a head and relation per word) gold arcs."""
    return example["label"] is not None or example.get("heads") is not None
