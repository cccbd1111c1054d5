"""Every task's official metrics as an `evaluate` metric (harness.hf), equal to what harness recorded for every
committed run, and loadable offline from the path `harness list metrics` prints."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_evaluate_metric_reproduces

from harness.errors import ConfigError, DataError, TaskError
from harness.metrics import compute_scores, load
from harness.metrics.klue import compute_tagging_scores
from harness.shapes import shape_of
from harness.tasks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
RUNS = sorted((ROOT / "reports").glob("*/*/*/*/result.json"))


def _metric(task_id: str, tmp_path):
    return load(task_id, keep_in_memory=True, cache_dir=str(tmp_path))


def test_reports_hold_committed_runs():
    assert len(RUNS) >= 40  # the walk below covers every one of them


@pytest.mark.parametrize("result_file", RUNS, ids=lambda path: "/".join(path.parts[-5:-1]))
def test_evaluate_metric_equals_every_committed_result(result_file, tmp_path):
    assert_evaluate_metric_reproduces(result_file, tmp_path)


@pytest.mark.parametrize("task_id", [*REGISTRY.names(), "glue/stsb-n2m", "klue/mrc-n2m"])
def test_every_task_loads_as_an_evaluate_metric(task_id, tmp_path):
    """Every task (and text-to-text views) loads, its inputs declared as its shape reads them."""
    task = REGISTRY.get(task_id)
    metric = _metric(task_id, tmp_path)
    assert metric.config_name == task.id
    assert list(metric.features) == list(shape_of(task).metric_inputs(task))
    assert all(name in metric.inputs_description for name in task.metrics)


def test_add_batch_then_compute_equals_one_compute(tmp_path):
    metric = _metric("superglue/multirc", tmp_path)
    predictions, references, groups = [1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 0, 1], ["a", "a", "b", "b", "c", "c"]
    metric.add_batch(predictions=predictions[:4], references=references[:4], groups=groups[:4])
    metric.add_batch(predictions=predictions[4:], references=references[4:], groups=groups[4:])
    batched = metric.compute()
    assert batched == metric.compute(predictions=predictions, references=references, groups=groups)
    expected = compute_scores(["f1a", "em"], np.array(predictions), np.array(references), groups)
    assert batched == {"f1a": expected["f1a"], "em": expected["em"], "main_score": (expected["f1a"] + expected["em"]) / 2}
    assert batched["em"] == pytest.approx(100 / 3)  # only question "a" has every option right


def test_regression_and_tag_features(tmp_path):
    stsb = _metric("glue/stsb", tmp_path)
    assert {name: feature.dtype for name, feature in stsb.features.items()} == {"predictions": "float64",
                                                                                 "references": "float64"}
    ner = _metric("klue/ner", tmp_path)
    labels = REGISTRY.get("klue/ner").labels
    tag = {name: i for i, name in enumerate(labels)}
    text = "이순신 장군"
    gold = [tag["B-PS"], tag["I-PS"], tag["I-PS"], tag["O"], tag["O"], tag["O"]]
    predicted = [tag["B-PS"], tag["I-PS"], tag["O"], tag["O"], tag["O"], tag["O"]]
    scores = ner.compute(predictions=[predicted, gold], references=[gold, gold], texts=[text, text])
    expected = compute_tagging_scores(["ner_entity_macro_f1", "ner_char_macro_f1"], [predicted, gold], [gold, gold],
                                      [list(text), list(text)], labels)
    assert {k: v for k, v in scores.items() if k != "main_score"} == expected
    assert scores["ner_entity_macro_f1"] == pytest.approx(50)  # 1 of 2 predicted entities right, 1 of 2 gold found


def test_bad_inputs_say_what_the_metric_needs(tmp_path):
    with pytest.raises(ConfigError, match="name the task"):
        load("default")
    with pytest.raises(TaskError):
        load("glue/nope")
    with pytest.raises(ValueError, match="groups"):  # evaluate's own check of the declared inputs
        _metric("superglue/multirc", tmp_path).compute(predictions=[1], references=[1])
    with pytest.raises(DataError, match="do not fit"):
        _metric("klue/dp", tmp_path).compute(predictions=[[0]], references=[[0]], predicted_relations=[["nope"]],
                                             reference_relations=[["NP"]])


def test_offline_load_from_the_path_harness_lists(tmp_path):
    """`harness list metrics` names the module file; evaluate.load reads it with HF_HUB_OFFLINE=1, in a fresh
    interpreter, and scores as harness does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    listed = subprocess.run([sys.executable, "-m", "harness.cli", "list", "metrics"], env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "klue/ner" in listed and "superglue/multirc" in listed
    path = next(line.split('"')[1] for line in listed.splitlines() if "evaluate.load(" in line)
    assert Path(path).is_file()
    script = ("import evaluate, json, sys; m = evaluate.load(sys.argv[1], 'glue/mrpc', keep_in_memory=True); "
              "print(json.dumps(m.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])))")
    out = subprocess.run([sys.executable, "-c", script, path], env=env, capture_output=True, text=True, check=True)
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    expected = compute_scores(["accuracy", "f1"], np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
    assert scores == {**expected, "main_score": (expected["accuracy"] + expected["f1"]) / 2}
