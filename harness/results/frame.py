"""The results as one table (pandas), a row per run: what the leaderboards and README's headline read. Seeds
stay separate rows; each renderer averages them as it shows them.
"""
from __future__ import annotations

import pandas as pd

from harness.models import MAJORITY
from harness.precision import recorded_precision
from harness.results.recipe import recipe_text
from harness.results.resultset import task_spec
from harness.results.store import RunResult
from harness.tasks import REGISTRY, TaskRegistry

NO_MODEL = "no model: the training split's majority"  # the recipe of the majority baseline (--model majority)


def results_frame(results: list[RunResult], registry: TaskRegistry = REGISTRY) -> pd.DataFrame:
    """One row per result; seeds are averaged later, per (model, task, mode)."""
    specs = {(r.suite, r.task): task_spec(registry, r.suite, r.task) for r in results}
    rows = [
        {
            "suite": r.suite, "task": r.task, "model": r.model, "mode": r.mode, "seed": r.seed,
            "main_score": r.main_score, "split_strategy": r.split_strategy, "split_note": r.split_note,
            "capped": bool(r.capped), "caps": r.capped, "num_train": r.num_train,
            "num_eval": r.num_eval, "trainable_parameters": r.timings.get("trainable_parameters"),
            "wall_s": r.timings.get("total_s"),
            "scores": r.scores,
            "recipe": NO_MODEL if r.model_kind == MAJORITY else recipe_text(r, specs[(r.suite, r.task)]),
            "precision": recorded_precision(r.provenance.get("hyperparameters", {})),
            "data": r.provenance.get("data") or {},
            "flagged": bool(r.flags),
            "flag_note": "; ".join(f"{r.mode} seed {r.seed}: {item['message']}" for item in r.flags),
            "layer_sweep": r.layer_sweep,
            "model_kind": r.model_kind,
            "flops": r.compute.get("flops"),
            "tokenizer_fit": r.tokenizer_fit,
        }
        for r in results
    ]
    columns = ["suite", "task", "model", "mode", "seed", "main_score", "split_strategy", "split_note", "capped",
               "caps", "num_train", "num_eval", "trainable_parameters", "wall_s", "scores", "recipe", "precision",
               "data", "flagged", "flag_note", "layer_sweep", "model_kind", "flops", "tokenizer_fit"]
    return pd.DataFrame(rows, columns=columns).astype({"flops": "float64"})
