"""harness's official metrics where Hugging Face users train and evaluate: every task's metrics as an
`evaluate` metric (harness_metrics.py: one module, the task its config) and as a `transformers.Trainer`
compute_metrics (trainer.py). Both score prediction rows through the task's shape (scoring.py), as a run's
scores and intervals are computed, so they equal what harness reports. (Model cards: harness.export.)

May import (pyproject.toml's import contract): harness.shapes and every layer below it, numpy; evaluate and
datasets inside functions. Imported by the CLI (`harness list metrics`) and, on call, by harness.metrics' load
and compute_metrics (an upward arrow the contract lists, to remove).
"""
from __future__ import annotations

from pathlib import Path

from harness.hf.scoring import task_named
from harness.hf.trainer import compute_metrics

# The `evaluate` module: evaluate.load(str(MODULE), "glue/mrpc") loads it offline, as any local module file.
MODULE = Path(__file__).with_name("harness_metrics.py")


def load(task: str, **kwargs):
    """The task's official metrics as an `evaluate` metric: evaluate.load on MODULE with the task as its config
    (keyword arguments go to evaluate.load: cache_dir, keep_in_memory, num_process, ...)."""
    import evaluate

    return evaluate.load(str(MODULE), task_named(task).id, **kwargs)


__all__ = ["MODULE", "compute_metrics", "load", "task_named"]
