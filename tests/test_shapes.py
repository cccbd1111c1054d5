"""The shape registry: a shape plugs in with one module (here: one test module), and nothing outside
harness/shapes branches on a shape's name."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from harness import evaluate
from harness.errors import TaskError
from harness.metrics import score_examples
from harness.report import render_report
from harness.results import read_result
from harness.runners.finetune import FinetuneRunner
from harness.runners.frozen import FrozenRunner
from harness.shapes import get_shape, register, shape_names, unregister
from harness.shapes.base import Shape
from harness.tasks import TaskRegistry, parse_task

HARNESS = Path(__file__).resolve().parents[1] / "harness"


class WordCountShape(Shape):
    """A toy shape: each sentence's length, regressed from its encoding (in characters: the fixture's sentences
    all have six words, and one label throughout trains nothing)."""

    name = "word_count"
    label_per_example = True
    label_rows = True
    frozen_runner = FrozenRunner
    finetune_runner = FinetuneRunner

    def read(self, task, values, example_id, where):
        return {"id": example_id, "text": values["text"], "label": float(len(values["text"]))}

    def score(self, task, examples, predictions, config):
        return score_examples(task.metrics, examples, predictions)

    def rows(self, task, examples, predictions, fold):
        return [{"id": ex["id"], "fold": fold, "label": ex["label"], "prediction": float(p)}
                for ex, p in zip(examples, predictions)]


@pytest.fixture
def word_count_task(tmp_path):
    """The toy shape registered, and a task of it reading the GLUE fixture's SST-2 sentences."""
    register(WordCountShape())
    root = tmp_path / "tasks"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "words.yaml").write_text(
        "suite: toy\nname: words\nversion: 1\nformat: n21\nshape: word_count\nkind: regression\n"
        "files: {train: glue/SST-2/train.tsv, validation: glue/SST-2/dev.tsv}\n"
        "fields: {text: sentence}\nmetrics: [pearson, spearman]\nmain_score: [pearson, spearman]\n")
    yield TaskRegistry(root)
    unregister("word_count")


def test_a_shape_defined_in_one_module_runs_end_to_end(word_count_task, tiny_model_dir, glue_dir, tmp_path):
    assert "word_count" in shape_names()
    out = tmp_path / "reports"
    evaluation = evaluate(str(tiny_model_dir), tasks=["toy/words"], mode="both", data_dir=glue_dir, output_dir=out,
                          registry=word_count_task, epochs=1, min_steps=0, batch_size=16, quiet=True, device="cpu")
    assert [(r.task, r.mode) for r in evaluation.results] == [("words", "frozen"), ("words", "finetune")]
    for result in evaluation.results:
        assert set(result.scores) == {"pearson", "spearman"}
        assert all(np.isfinite(v) for v in result.scores.values())
        folder = next(out.glob(f"*/toy/words/{result.mode}-seed42"))
        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert len(rows) == result.num_eval and all(row["label"] == int(row["label"]) >= 1 for row in rows)
        assert read_result(folder / "result.json").scores == result.scores
        page = render_report(folder, word_count_task, resamples=50)
        assert "## Worst predictions" in page  # a one-label regression's section, read from the toy's rows


def test_an_unknown_shape_fails_when_the_task_loads_naming_the_file():
    with pytest.raises(TaskError, match=r"toy\.yaml: shape 'no_such_shape' is not one of .*sequence"):
        parse_task({"suite": "s", "name": "n", "version": 1, "format": "n21", "shape": "no_such_shape",
                    "kind": "regression", "fields": {"text": "t"}, "metrics": ["pearson"], "main_score": "pearson"},
                   "toy.yaml")
    with pytest.raises(TaskError, match="unknown shape"):
        get_shape("../tasks")


def test_every_shape_module_registers_its_shape():
    for name in shape_names():
        assert get_shape(name).name == name


def _dispatching_strings(tree: ast.Module):
    """String constants a module could dispatch on: compared against, members of literal collections, keys of
    module-level dicts (registries)."""
    registries = [node.value for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                  and isinstance(node.value, ast.Dict)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            candidates = [node.left, *node.comparators]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            candidates = node.elts
        elif any(node is registry for registry in registries):
            candidates = [key for key in node.keys if key is not None]
        else:
            continue
        for candidate in candidates:
            if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
                yield candidate.lineno, candidate.value


def test_no_module_outside_shapes_branches_on_a_shape_name():
    names = set(shape_names())
    found = [f"{path.relative_to(HARNESS.parent)}:{line}: {value!r}"
             for path in sorted(HARNESS.rglob("*.py")) if "shapes" not in path.relative_to(HARNESS).parts
             for line, value in _dispatching_strings(ast.parse(path.read_text(encoding="utf-8")))
             if value in names]
    assert not found, "shape names outside harness/shapes: " + "; ".join(found)
