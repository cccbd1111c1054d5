"""KLUE sentence-level tasks (NLI, STS, YNAT): official JSON readers and KLUE's STS binary F1."""
from __future__ import annotations

import json

import pytest
from conftest import serve_hub_rows

from harness import evaluate
from harness.data.files import read_split
from harness.data.hub import load_hub_split
from harness.errors import DataError
from harness.metrics import compute_scores
from harness.tasks import REGISTRY

TOPICS = ["IT과학", "경제", "사회", "생활문화", "세계", "스포츠", "정치"]


def _write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")


def _sts_record(i, score, real=None):
    return {"guid": f"klue-sts-v1_dev_{i:05d}", "source": "airbnb-rtt", "sentence1": f"문장 {i}",
            "sentence2": f"다른 문장 {i}",
            "labels": {"label": score, "real-label": score if real is None else real, "binary-label": int(score >= 3)}}


def test_sts_reads_the_nested_score_and_guid(tmp_path):
    _write(tmp_path / "klue/sts/klue-sts-v1.1_dev.json", [_sts_record(0, 4.9), _sts_record(1, 0.2)])
    split = read_split(REGISTRY.get("klue/sts"), "validation", tmp_path)
    assert [ex["label"] for ex in split.examples] == [4.9, 0.2]
    assert split.examples[0]["id"] == "klue-sts-v1_dev_00000" and split.examples[0]["text_pair"] == "다른 문장 0"
    assert len(split.source["sha256"]) == 64


def test_sts_gold_is_the_unrounded_real_label_from_files_and_hub(tmp_path, monkeypatch):
    # KLUE's baseline reads labels["real-label"] (the annotators' mean), not the rounded labels["label"].
    record = _sts_record(0, 4.9, real=4.857142857142857)
    _write(tmp_path / "klue/sts/klue-sts-v1.1_dev.json", [record])
    task = REGISTRY.get("klue/sts")
    assert [ex["label"] for ex in read_split(task, "validation", tmp_path).examples] == [4.857142857142857]
    serve_hub_rows(monkeypatch, [record])  # the Hub's rows nest the same {label, real-label, binary-label}
    assert [ex["label"] for ex in load_hub_split(task, "validation").examples] == [4.857142857142857]


def test_malformed_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "klue/nli/klue-nli-v1.1_dev.json"
    path.parent.mkdir(parents=True)
    path.write_text('[\n  {"guid": "a", "premise": "x",\n  "hypothesis" "y"}\n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"klue-nli-v1.1_dev.json:3:\d+: not valid JSON"):
        read_split(REGISTRY.get("klue/nli"), "validation", tmp_path)


def test_missing_field_names_the_example_and_field(tmp_path):
    _write(tmp_path / "klue/nli/klue-nli-v1.1_dev.json",
           [{"guid": "klue-nli-v1_dev_00007", "premise": "전제", "hypothesis": "가설"}])
    with pytest.raises(DataError, match=r"example 0 \(klue-nli-v1_dev_00007\): field 'gold_label' is missing"):
        read_split(REGISTRY.get("klue/nli"), "validation", tmp_path)


def test_unknown_topic_is_a_label_error(tmp_path):
    _write(tmp_path / "klue/ynat/ynat-v1.1_dev.json", [{"guid": "ynat-v1_dev_00000", "title": "제목", "label": "날씨"}])
    with pytest.raises(DataError, match="'날씨' is not in klue/ynat's label set"):
        read_split(REGISTRY.get("klue/ynat"), "validation", tmp_path)


def test_sts_binary_f1_thresholds_both_sides_at_three():
    # Binarised at >= 3.0: predictions [1, 1, 0, 0, 1], gold [1, 0, 1, 0, 1] -> TP 2, FP 1, FN 1 -> F1 = 4/6.
    scores = compute_scores(["sts_binary_f1"], [3.0, 4.2, 2.99, 0.5, 5.0], [3.2, 2.9, 3.0, 1.0, 4.4])
    assert scores["sts_binary_f1"] == pytest.approx(100 * 4 / 6)


def test_ynat_runs_end_to_end_on_fixture_files(tiny_model_dir, tmp_path):
    records = [{"guid": f"ynat-v1_{split}_{i:05d}", "title": f"good movie {i}" if i % 7 == 0 else f"bad plot {i}",
                "label": TOPICS[i % 7], "url": "https://example.org", "date": "2016.06.30. 오전 10:36"}
               for split in ("train",) for i in range(42)]
    _write(tmp_path / "data/klue/ynat/ynat-v1.1_train.json", records)
    _write(tmp_path / "data/klue/ynat/ynat-v1.1_dev.json", records[:21])
    (result,) = evaluate(str(tiny_model_dir), tasks=["ynat"], mode="frozen", data_dir=tmp_path / "data",
                         output_dir=tmp_path / "reports", quiet=True, device="cpu").results
    assert result.suite == "klue" and result.num_train == 42 and result.num_eval == 21
    assert set(result.scores) == {"macro_f1"} and 0 <= result.main_score <= 100


@pytest.mark.parametrize("strategy", ["holdout", "kfold"])
def test_holdout_and_kfold_keep_a_premises_three_hypotheses_together(tmp_path, strategy):
    from harness.data.splits import plan_splits

    labels = ["entailment", "neutral", "contradiction"]
    records = [{"guid": f"klue-nli-v1_dev_{3 * p + k:05d}", "source": "NSMC", "premise": f"전제 {p}",
                "hypothesis": f"가설 {p}-{k}", "gold_label": labels[k], "author": labels[k], "label2": labels[k],
                "label3": labels[k], "label4": labels[k], "label5": labels[k]} for p in range(40) for k in range(3)]
    _write(tmp_path / "klue/nli/klue-nli-v1.1_dev.json", records)
    nli = REGISTRY.get("klue/nli")
    plan = plan_splits(nli, {"validation": read_split(nli, "validation", tmp_path)}, strategy, seed=42)
    assert "grouped by text" in plan.note
    for fold in plan.folds:
        train, held = {ex["text"] for ex in fold.train}, {ex["text"] for ex in fold.eval}
        assert not train & held and len(fold.eval) == 24  # 8 of 40 premises, with all three hypotheses
        assert sorted(ex["label"] for ex in fold.eval) == [0] * 8 + [1] * 8 + [2] * 8
    if strategy == "kfold":  # every premise is held out exactly once
        assert sorted(ex["id"] for fold in plan.folds for ex in fold.eval) == sorted(r["guid"] for r in records)


def test_the_real_nli_dev_file_splits_by_premise(shared_data):
    from harness.data.splits import plan_splits

    nli = REGISTRY.get("klue/nli")
    if not (shared_data / nli.files["validation"].path).is_file():
        pytest.skip("KLUE-NLI dev file not found")
    plan = plan_splits(nli, {"validation": read_split(nli, "validation", shared_data)}, "holdout", seed=42)
    (fold,) = plan.folds
    assert (len(fold.train), len(fold.eval)) == (2400, 600)
    assert not {ex["text"] for ex in fold.train} & {ex["text"] for ex in fold.eval}
