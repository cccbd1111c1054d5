"""The Hub's super_glue configs (rows as it serves them) map to the same examples as the official files."""
from __future__ import annotations

import json
from pathlib import Path

from harness.data.files import read_split
from harness.data.hub import load_hub_split
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"


def _serve(monkeypatch, rows: list[dict]):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: datasets.Dataset.from_list(rows))


def _without_ids(examples):
    return [{k: v for k, v in ex.items() if k != "id"} for ex in examples]


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
    _serve(monkeypatch, rows)
    assert _without_ids(load_hub_split(task, "validation").examples) == \
        _without_ids(read_split(task, "validation", FIXTURES).examples)


def test_multirc_and_wsc_rows(monkeypatch, tmp_path):
    multirc = REGISTRY.get("superglue/multirc")
    passage = {"idx": 0, "passage": {"text": "Tom has a red bike.", "questions": [
        {"question": "What colour?", "idx": 5, "answers": [{"text": "Red", "idx": 9, "label": 1}]}]}}
    path = tmp_path / "superglue/MultiRC/val.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(passage) + "\n", encoding="utf-8")
    _serve(monkeypatch, [{"paragraph": "Tom has a red bike.", "question": "What colour?", "answer": "Red",
                          "idx": {"paragraph": 0, "question": 5, "answer": 9}, "label": 1}])
    assert _without_ids(load_hub_split(multirc, "validation").examples) == \
        _without_ids(read_split(multirc, "validation", tmp_path).examples)

    wsc = REGISTRY.get("superglue/wsc")
    _serve(monkeypatch, [{"text": "Ann thanked Bo because she won .", "span1_index": 0, "span1_text": "Ann",
                          "span2_index": 4, "span2_text": "she", "idx": 0, "label": 1}])
    (example,) = load_hub_split(wsc, "validation").examples
    assert example["spans"] == [[0, 0, 3], [0, 23, 26]] and example["label"] == 1
