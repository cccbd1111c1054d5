"""The Hub's super_glue configs (rows as it serves them) map to the same examples as the official files."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import serve_hub_rows, without_ids

from harness.data.files import read_split
from harness.data.hub import load_hub_split
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"


def test_record_rows(monkeypatch):
    task = REGISTRY.get("superglue/record")
    rows = []
    for line in (FIXTURES / "superglue/ReCoRD/val.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text = record["passage"]["text"]
        spans = record["passage"]["entities"]
        for qa in record["qas"]:
            rows.append({"passage": text, "query": qa["query"],
                         "entities": [text[s["start"]:s["end"] + 1] for s in spans],
                         "entity_spans": {"text": [text[s["start"]:s["end"] + 1] for s in spans],
                                          "start": [s["start"] for s in spans], "end": [s["end"] for s in spans]},
                         "answers": [a["text"] for a in qa["answers"]],
                         "idx": {"passage": record["idx"], "query": qa["idx"]}})
    serve_hub_rows(monkeypatch, rows)
    assert without_ids(load_hub_split(task, "validation").examples) == \
        without_ids(read_split(task, "validation", FIXTURES).examples)


def test_multirc_and_wsc_rows(monkeypatch, tmp_path):
    multirc = REGISTRY.get("superglue/multirc")
    passage = {"idx": 0, "passage": {"text": "Tom has a red bike.", "questions": [
        {"question": "What colour?", "idx": 5, "answers": [{"text": "Red", "idx": 9, "label": 1}]}]}}
    path = tmp_path / "superglue/MultiRC/val.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(passage) + "\n", encoding="utf-8")
    serve_hub_rows(monkeypatch, [{"paragraph": "Tom has a red bike.", "question": "What colour?", "answer": "Red",
                          "idx": {"paragraph": 0, "question": 5, "answer": 9}, "label": 1}])
    assert without_ids(load_hub_split(multirc, "validation").examples) == \
        without_ids(read_split(multirc, "validation", tmp_path).examples)

    wsc = REGISTRY.get("superglue/wsc")
    serve_hub_rows(monkeypatch, [{"text": "Ann thanked Bo because she won .", "span1_index": 0, "span1_text": "Ann",
                          "span2_index": 4, "span2_text": "she", "idx": 0, "label": 1}])
    (example,) = load_hub_split(wsc, "validation").examples
    assert example["spans"] == [[0, 0, 3], [0, 23, 26]] and example["label"] == 1
