"""The Hub path read by `datasets` itself: per suite, a local dataset repository laid out as the Hub's (a README
whose YAML names the configs and their data files, parquet or JSON Lines files with ClassLabel features),
loaded by datasets.load_dataset through harness's Hub reader, so the column mapping (hub_fields, nested
fields, ClassLabel indices, configs, splits) meets what `datasets` really returns."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from conftest import without_ids

from harness.data.files import read_split
from harness.data.hub import load_hub_split
from harness.tasks import REGISTRY, TaskSpec


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """What datasets prepares from the files stays in the test's folder."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")


def _repository(root: Path, configs: dict[str, dict[str, str]], dataset_info: list[dict] | None = None) -> Path:
    """A dataset repository's README: each config's data files per split (and, for JSON, its features)."""
    card = {"configs": [{"config_name": name, "data_files": [{"split": split, "path": path}
                                                             for split, path in splits.items()]}
                        for name, splits in configs.items()]}
    if dataset_info:
        card["dataset_info"] = dataset_info
    (root / "README.md").write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n", encoding="utf-8")
    return root


def _from(task: TaskSpec, repository: Path) -> TaskSpec:
    """The task reading its Hub config from the local repository instead of the Hub."""
    return dataclasses.replace(task, hub={**task.hub, "path": str(repository)})


def test_glue_configs_from_parquet_with_class_labels(tmp_path):
    import datasets

    pairs = datasets.Dataset.from_dict(
        {"sentence1": ["A cat sat.", "He ran home."], "sentence2": ["The cat was sitting.", "It rained."],
         "label": [1, 0], "idx": [0, 1]},
        features=datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                    "label": datasets.ClassLabel(names=["not_equivalent", "equivalent"]),
                                    "idx": datasets.Value("int32")}))
    scores = datasets.Dataset.from_dict({"sentence1": ["A man plays."], "sentence2": ["A man is playing."],
                                         "label": [4.75], "idx": [0]})
    (tmp_path / "data").mkdir()
    pairs.to_parquet(tmp_path / "data" / "mrpc-validation.parquet")
    scores.to_parquet(tmp_path / "data" / "stsb-validation.parquet")
    repository = _repository(tmp_path, {"mrpc": {"validation": "data/mrpc-validation.parquet"},
                                        "stsb": {"validation": "data/stsb-validation.parquet"}})

    split = load_hub_split(_from(REGISTRY.get("glue/mrpc"), repository), "validation")
    assert without_ids(split.examples) == [{"text": "A cat sat.", "text_pair": "The cat was sitting.", "label": 1},
                                           {"text": "He ran home.", "text_pair": "It rained.", "label": 0}]
    assert split.source["kind"] == "hub" and split.source["name"] == "mrpc" and split.source["fingerprint"]
    (pair,) = load_hub_split(_from(REGISTRY.get("glue/stsb"), repository), "validation").examples
    assert pair["label"] == pytest.approx(4.75)
    assert load_hub_split(_from(REGISTRY.get("glue/mrpc"), repository), "train") is None  # no such split


def test_superglue_multirc_from_json_lines_with_features_in_the_card(tmp_path):
    """Nested idx.question as the group, the label a ClassLabel declared in the card: the same examples as the
    official file gives."""
    rows = [{"paragraph": "Tom has a red bike.", "question": "What colour?", "answer": answer,
             "idx": {"paragraph": 0, "question": 5, "answer": number}, "label": label}
            for number, (answer, label) in enumerate([("Red", 1), ("Blue", 0)])]
    (tmp_path / "multirc").mkdir()
    (tmp_path / "multirc" / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    features = [{"name": "paragraph", "dtype": "string"}, {"name": "question", "dtype": "string"},
                {"name": "answer", "dtype": "string"},
                {"name": "idx", "struct": [{"name": key, "dtype": "int32"} for key in ("paragraph", "question", "answer")]},
                {"name": "label", "dtype": {"class_label": {"names": {0: "False", 1: "True"}}}}]
    repository = _repository(tmp_path, {"multirc": {"validation": "multirc/validation.jsonl"}},
                             [{"config_name": "multirc", "features": features}])
    task = REGISTRY.get("superglue/multirc")
    hub = load_hub_split(_from(task, repository), "validation").examples

    official = tmp_path / "official" / "superglue" / "MultiRC" / "val.jsonl"
    official.parent.mkdir(parents=True)
    official.write_text(json.dumps({"idx": 0, "passage": {"text": "Tom has a red bike.", "questions": [
        {"question": "What colour?", "idx": 5, "answers": [{"text": "Red", "idx": 0, "label": 1},
                                                           {"text": "Blue", "idx": 1, "label": 0}]}]}}) + "\n",
                        encoding="utf-8")
    assert without_ids(hub) == without_ids(read_split(task, "validation", tmp_path / "official").examples)
    assert [(ex["group"], ex["label"]) for ex in hub] == [("5", 1), ("5", 0)]


def test_klue_ner_from_parquet_with_a_class_label_per_character(tmp_path):
    import datasets

    task = REGISTRY.get("klue/ner")
    tag = {name: i for i, name in enumerate(task.labels)}
    chars = list("이순신은 장군")
    tags = [tag["B-PS"], tag["I-PS"], tag["I-PS"], tag["O"], tag["O"], tag["O"], tag["O"]]
    rows = datasets.Dataset.from_dict(
        {"sentence": ["<이순신:PS>은 장군"], "tokens": [chars], "ner_tags": [tags]},
        features=datasets.Features({"sentence": datasets.Value("string"),
                                    "tokens": datasets.Sequence(datasets.Value("string")),
                                    "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(task.labels)))}))
    rows.to_parquet(tmp_path / "ner-validation.parquet")
    repository = _repository(tmp_path, {"ner": {"validation": "ner-validation.parquet"}})
    (example,) = load_hub_split(_from(task, repository), "validation").examples
    assert example == {"id": "validation:0", "text": "이순신은 장군", "chars": chars,
                       "tags": ["B-PS", "I-PS", "I-PS", "O", "O", "O", "O"], "label": tags}
