"""`harness export`: results in the shapes other tools read: the Hub model card's model-index, a model card
(harness.card) and a flat CSV.

The model-index is built with huggingface_hub (an EvalResult per task, mode and official metric, in a
ModelCardData) and parsed back by it before it is returned, so what the Hub reads is what was meant.
Seeds are averaged per (task, mode), as in the leaderboards; the CSV keeps every result, one row per
result and metric, for analysis elsewhere. An undefined score (null in the result) is an empty CSV
value, and the model-index, which holds numbers only, leaves it out.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from harness.config import EXPORT_FORMATS
from harness.errors import ConfigError, DataError
from harness.render import SUITE_TITLES
from harness.results import ResultSet, RunResult, task_spec
from harness.shapes import shape_of
from harness.shapes.base import Shape
from harness.tasks import REGISTRY, TaskRegistry

MODE_NAMES = {"frozen": "frozen encoder", "finetune": "fine-tuned"}
# harness metric -> the Hub's metric id (the `evaluate` library's names) and its arguments
HUB_METRICS = {"accuracy": ("accuracy", {}), "f1": ("f1", {}), "macro_f1": ("f1", {"average": "macro"}),
               "mcc": ("matthews_correlation", {}), "r3": ("matthews_correlation", {}),
               "pearson": ("pearsonr", {}), "spearman": ("spearmanr", {})}
CSV_COLUMNS = ["model", "suite", "task", "mode", "seed", "metric", "value", "split_strategy", "num_train",
               "num_eval", "trainable_parameters", "total_s"]


def export(reports: str | Path, fmt: str, model: str | None = None, registry: TaskRegistry = REGISTRY) -> str:
    """The text of the export: model-index YAML or a model card for one model, or CSV for all (or one) of them."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    result_set = ResultSet.load(reports, registry)
    results = result_set.results
    models = sorted({r.model for r in results})
    if model is not None:
        results = [r for r in results if r.model == model]
        if not results:
            raise DataError(f"no results for model {model!r} under {reports}; "
                            f"models with results: {', '.join(models) or 'none'}")
    elif fmt != "csv" and len(models) > 1:
        raise ConfigError(f"a model card describes one model, and {reports} holds {len(models)}: "
                          f"pass --model with one of {', '.join(models)}")
    if not results:
        raise DataError(f"no readable results under {reports}; run `harness eval` first")
    if fmt == "csv":
        return csv_table(results).to_csv(index=False, lineterminator="\n")
    if fmt == "card":
        from harness.card import model_card

        return model_card(result_set, results[0].model, model_index(results, registry))
    return yaml.safe_dump(model_index(results, registry), sort_keys=False, allow_unicode=True)


def model_index(results: list[RunResult], registry: TaskRegistry = REGISTRY) -> dict:
    """Hub model-card metadata, through huggingface_hub and checked by parsing it back: one entry per task, a
    metric per (official metric, mode), seeds averaged."""
    from huggingface_hub import ModelCardData

    card = ModelCardData(model_name=results[0].model, eval_results=eval_results(results, registry))
    metadata = card.to_dict()
    parsed = ModelCardData(**yaml.safe_load(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)))
    if parsed.model_name != card.model_name or parsed.eval_results != card.eval_results:
        lost = [str(r) for r in card.eval_results if r not in (parsed.eval_results or [])]
        raise DataError(f"the model-index of {card.model_name!r} does not read back as written; "
                        f"changed in the round trip: {'; '.join(lost) or 'the model name'}")
    return metadata


def eval_results(results: list[RunResult], registry: TaskRegistry = REGISTRY) -> list:
    """huggingface_hub EvalResults: per task, frozen before fine-tuned, each official metric averaged over seeds
    and named with how it was measured."""
    from huggingface_hub import EvalResult

    by_task: dict[tuple[str, str], dict[str, list[RunResult]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        by_task[(result.suite, result.task)][result.mode].append(result)
    out = []
    for (suite, task), modes in sorted(by_task.items()):
        spec = task_spec(registry, suite, task)
        hub = spec.hub if spec else {}
        task_type, task_name = shape_of(spec).hub_task if spec else Shape.hub_task
        where = dict(task_type=task_type, task_name=task_name, dataset_type=hub.get("path", suite),
                     dataset_name=f"{SUITE_TITLES.get(suite, suite)} {task}", dataset_config=hub.get("name", task),
                     dataset_split=spec.hub_splits.get("validation", "validation") if spec else "validation")
        for mode, runs in sorted(modes.items(), key=lambda item: item[0] != "frozen"):  # frozen first
            for name in spec.metrics if spec else sorted(runs[0].scores):
                values = [r.scores[name] for r in runs if name in r.scores]
                if len(values) != len(runs) or np.isnan(values).any():
                    continue
                hub_type, args = HUB_METRICS.get(name, (name, {}))  # KLUE's own metrics keep their names
                out.append(EvalResult(**where, metric_type=hub_type, metric_value=round(float(np.mean(values)), 2),
                                      metric_name=f"{name} ({_setting(mode, runs)})", metric_args=args or None))
    return out


def _setting(mode: str, runs: list[RunResult]) -> str:
    """How a value was measured, in words: mode, seeds, and any departure from the official split."""
    parts = [MODE_NAMES.get(mode, mode)]
    if len(runs) > 1:
        parts.append(f"mean of {len(runs)} seeds")
    strategies = sorted({r.split_strategy for r in runs} - {"official"})
    if strategies:
        parts.append(f"{'/'.join(strategies)} of the validation split")
    if any(r.capped for r in runs):
        parts.append("sample caps")
    return ", ".join(parts)


def csv_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per result and score (the main score as metric `main`), sorted."""
    rows = []
    for r in results:
        shared = {"model": r.model, "suite": r.suite, "task": r.task, "mode": r.mode, "seed": r.seed,
                  "split_strategy": r.split_strategy, "num_train": r.num_train, "num_eval": r.num_eval,
                  "trainable_parameters": r.timings.get("trainable_parameters"), "total_s": r.timings.get("total_s")}
        rows.append({**shared, "metric": "main", "value": r.main_score})
        rows += [{**shared, "metric": name, "value": value} for name, value in r.scores.items()]
    frame = pd.DataFrame(rows, columns=CSV_COLUMNS)
    return frame.sort_values(["model", "suite", "task", "mode", "seed", "metric"], kind="stable", ignore_index=True)
