"""The Hub's klue configs for RE, MRC and DP map to the same examples as the official files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import serve_hub_rows, without_ids

from harness.data.files import read_split
from harness.data.hub import load_hub_split
from harness.errors import DataError
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"


def test_re_rows(monkeypatch):
    task = REGISTRY.get("klue/re")
    records = json.loads((FIXTURES / "klue/re/klue-re-v1.1_dev.json").read_text(encoding="utf-8"))
    serve_hub_rows(monkeypatch, [{**r, "label": task.labels.index(r["label"])} for r in records])  # ClassLabel indices
    assert without_ids(load_hub_split(task, "validation").examples) == \
        without_ids(read_split(task, "validation", FIXTURES).examples)


def test_mrc_rows(monkeypatch):
    task = REGISTRY.get("klue/mrc")
    document = json.loads((FIXTURES / "klue/mrc/klue-mrc-v1.1_dev.json").read_text(encoding="utf-8"))
    rows = [{"guid": qa["guid"], "context": p["context"], "question": qa["question"],
             "question_type": qa["question_type"], "is_impossible": qa["is_impossible"],
             "answers": {"text": [a["text"] for a in qa["answers"]],
                         "answer_start": [a["answer_start"] for a in qa["answers"]]}}
            for article in document["data"] for p in article["paragraphs"] for qa in p["qas"]]
    serve_hub_rows(monkeypatch, rows)
    assert without_ids(load_hub_split(task, "validation").examples) == \
        without_ids(read_split(task, "validation", FIXTURES).examples)


def test_dp_rows_and_a_head_outside_the_sentence(monkeypatch):
    task = REGISTRY.get("klue/dp")
    row = {"sentence": "민수가 책을 샀다.", "index": [1, 2, 3], "word_form": ["민수가", "책을", "샀다."],
           "lemma": ["민수 가", "책 을", "사 았 다 ."], "pos": ["NNP+JKS", "NNG+JKO", "VV+EP+EF+SF"],
           "head": [3, 3, 0], "deprel": ["NP_SBJ", "NP_OBJ", "VP"]}
    serve_hub_rows(monkeypatch, [row])
    (example,) = load_hub_split(task, "validation").examples
    assert example == {"id": "validation:0", "text": "민수가 책을 샀다.", "words": ["민수가", "책을", "샀다."],
                       "pos": ["NNP+JKS", "NNG+JKO", "VV+EP+EF+SF"], "heads": [3, 3, 0],
                       "deprels": ["NP_SBJ", "NP_OBJ", "VP"], "label": None}
    serve_hub_rows(monkeypatch, [{**row, "head": [3, 4, 0]}])
    with pytest.raises(DataError, match="row 0, word 2: head 4 points outside its sentence of 3 words"):
        load_hub_split(task, "validation")
