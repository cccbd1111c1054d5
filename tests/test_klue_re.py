"""KLUE-RE: the JSON reader with typed entity markers, KLUE's micro F1 and AUPRC, both modes on fixture files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import build_korean_bert
from harness import evaluate
from harness.data.files import read_split
from harness.errors import DataError
from harness.metrics.klue import compute_relation_scores
from harness.models import resolve_model
from harness.results import read_result
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"
RE = REGISTRY.get("klue/re")
LABELS = list(RE.labels)
FAST = dict(quiet=True, device="cpu", batch_size=8, eval_batch_size=16)


@pytest.fixture(scope="module")
def korean_re_model(tmp_path_factory) -> Path:
    texts = [ex["text"] for split in ("train", "validation") for ex in read_split(RE, split, FIXTURES).examples]
    return build_korean_bert(tmp_path_factory.mktemp("tiny-korean-re"), texts)


def _write(root: Path, records) -> Path:
    path = root / "klue/re/klue-re-v1.1_dev.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return root


def _record(sentence="김민준은 한빛전자에서 일한다.", subject=(0, 2, "김민준", "PER"), obj=(5, 8, "한빛전자", "ORG"),
            label="per:employee_of"):
    def entity(start, end, word, kind):
        return {"word": word, "start_idx": start, "end_idx": end, "type": kind}
    return {"guid": "klue-re-v1_dev_00000", "sentence": sentence, "subject_entity": entity(*subject),
            "object_entity": entity(*obj), "label": label, "source": "wikitree"}


def test_reader_marks_subject_and_object_with_their_types():
    split = read_split(RE, "validation", FIXTURES)
    first = split.examples[0]
    assert first["id"] == "klue-re-v1_dev_00000"
    assert first["text"] == "@ * PER * 정하늘 @은 # ^ ORG ^ 구름통신 #에서 일하는 연구원이다."
    assert LABELS[first["label"]] == "per:employee_of" and len(split) == 12 and split.labelled


def test_object_before_subject_is_marked_in_place(tmp_path):
    record = _record("한빛전자는 김민준이 세웠다.", subject=(0, 3, "한빛전자", "ORG"), obj=(6, 8, "김민준", "PER"),
                     label="org:founded_by")
    (example,) = read_split(RE, "validation", _write(tmp_path, [record])).examples
    assert example["text"] == "@ * ORG * 한빛전자 @는 # ^ PER ^ 김민준 #이 세웠다."
    record = _record("김민준이 세운 한빛전자.", subject=(8, 11, "한빛전자", "ORG"), obj=(0, 2, "김민준", "PER"))
    (example,) = read_split(RE, "validation", _write(tmp_path, [record])).examples
    assert example["text"] == "# ^ PER ^ 김민준 #이 세운 @ * ORG * 한빛전자 @."


@pytest.mark.parametrize("record, message", [
    (_record(subject=(0, 40, "김민준", "PER")), "subject entity span 0..40 lies outside the sentence of 16"),
    (_record(obj=(5, 7, "한빛전자", "ORG")), "object entity span 5..7 reads '한빛전', not its word '한빛전자'"),
    (_record(obj=(1, 4, "민준은 ", "ORG")), "overlap"),
    (_record(label="per:hobby"), "label 'per:hobby' is not in klue/re's label set"),
    ({**_record(), "object_entity": {"word": "한빛전자"}}, "the object entity needs word, start_idx, end_idx"),
])
def test_malformed_records_name_the_file_example_and_problem(tmp_path, record, message):
    with pytest.raises(DataError, match="klue-re-v1.1_dev.json: example 0 \\(klue-re-v1_dev_00000\\)") as caught:
        read_split(RE, "validation", _write(tmp_path, [record]))
    assert message in str(caught.value)


def test_micro_f1_and_auprc_on_a_hand_computed_case():
    labels = ["no_relation", "per:a", "per:b"]
    gold = np.array([0, 1, 1, 2])
    probabilities = np.array([[0.6, 0.3, 0.1],   # no_relation, right: no true positive, no error
                              [0.2, 0.7, 0.1],   # per:a right: TP
                              [0.5, 0.4, 0.1],   # per:a as no_relation: FN
                              [0.1, 0.6, 0.3]])  # per:b as per:a: FP for per:a, FN for per:b
    scores = compute_relation_scores(["re_micro_f1", "re_auprc"], probabilities, gold, labels)
    # Over per:a and per:b: TP 1, FP 1, FN 2 -> P 1/2, R 1/3, F1 0.4.
    assert scores["re_micro_f1"] == pytest.approx(40.0)
    # Per class, trapezoids under (recall, precision) from precision_recall_curve:
    #   no_relation: thresholds 0.6, 0.5, ... -> points (0,1) (1,1): area 1.
    #   per:a (gold rows 1, 2): scores 0.7 (+), 0.6 (-), 0.4 (+), 0.3 (-): points (0,1) (.5,1) (.5,.5)
    #     (1,2/3) -> 0.5 + 0 + 0.5 * (0.5 + 2/3) / 2 = 0.791666...
    #   per:b (gold row 3): scores 0.3 (+) highest -> (0,1) (1,1): area 1.
    assert scores["re_auprc"] == pytest.approx(100 * (1 + (0.5 + 0.5 * (0.5 + 2 / 3) / 2) + 1) / 3)


def test_auprc_keeps_the_baselines_half_for_a_class_absent_from_gold_and_flags_it():
    labels = ["no_relation", "per:a", "per:b"]
    gold = np.array([0, 1])  # per:b never occurs in gold, as on a small holdout or capped eval
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3]])
    scores = compute_relation_scores(["re_micro_f1", "re_auprc"], probabilities, gold, labels)
    # KLUE baseline's definition: each class's precision_recall_curve -> auc. no_relation and per:a are
    # ranked perfectly (area 1 each); per:b has no positive, so its curve is (recall 1, precision 0) to
    # (0, 1): area 0.5 whatever the probabilities. Mean (1 + 1 + 0.5) / 3.
    assert scores["re_auprc"] == pytest.approx(100 * 2.5 / 3)
    assert [item["code"] for item in scores.flags] == ["absent_gold_classes"]
    assert "1 of 3 classes" in scores.flags[0]["message"] and "per:b" in scores.flags[0]["message"]
    assert compute_relation_scores(["re_micro_f1"], probabilities, gold, labels).flags == []  # no AUPRC asked


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn_called_as_the_baseline_calls_them(seed):
    from sklearn.metrics import auc, f1_score, precision_recall_curve

    rng = np.random.default_rng(seed)
    gold = np.concatenate([np.arange(30), rng.integers(0, 30, 170)])
    logits = rng.normal(size=(200, 30)) + 2 * np.eye(30)[gold] * rng.random((200, 1))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    scores = compute_relation_scores(["re_micro_f1", "re_auprc"], probabilities, gold, LABELS)
    expected_f1 = f1_score(gold, probabilities.argmax(1), average="micro", labels=list(range(1, 30))) * 100
    one_hot = np.eye(30)[gold]
    expected_auprc = np.mean([auc(*precision_recall_curve(one_hot[:, c], probabilities[:, c])[1::-1])
                              for c in range(30)]) * 100
    assert scores["re_micro_f1"] == pytest.approx(expected_f1, abs=1e-12)
    assert scores["re_auprc"] == pytest.approx(expected_auprc, abs=1e-12)


def test_probabilities_of_the_wrong_shape_are_refused():
    with pytest.raises(DataError, match=r"expected probabilities of shape \(2, 30\)"):
        compute_relation_scores(["re_auprc"], np.ones((2, 3)), [0, 1], LABELS)


def test_both_modes_end_to_end_on_the_fixture_files(korean_re_model, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "klue" / "re", data / "klue" / "re")
    evaluation = evaluate(str(korean_re_model), tasks=["klue/re"], mode="both", data_dir=data,
                          output_dir=tmp_path / "reports", epochs=2, min_steps=0, **FAST)
    for result in evaluation.results:
        folder = tmp_path / "reports" / resolve_model(str(korean_re_model)).slug / "klue" / "re" / f"{result.mode}-seed42"
        written = read_result(folder / "result.json")
        assert written.split_strategy == "official" and written.num_train == 24 and written.num_eval == 12
        assert set(written.scores) == {"re_micro_f1", "re_auprc"} and written.main_score == written.scores["re_micro_f1"]
        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert len(rows) == 12
        for row in rows:
            assert len(row["probabilities"]) == 30 and sum(row["probabilities"]) == pytest.approx(1, abs=1e-4)
            assert row["prediction"] == int(np.argmax(row["probabilities"]))
            assert row["prediction_name"] == LABELS[row["prediction"]]
    # The six relations each come with their own template words: the frozen head learns them (a tiny random
    # BERT fine-tunes too slowly on 24 examples for a test; the real model's runs are in the closing note).
    assert evaluation.results[0].mode == "frozen" and evaluation.results[0].scores["re_micro_f1"] > 50
