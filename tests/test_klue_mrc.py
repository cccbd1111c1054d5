"""KLUE-MRC: the SQuAD-layout reader, windows and span decoding, KLUE's EM and ROUGE-W, both modes on fixtures."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import build_korean_bert
from harness import evaluate
from harness.data.files import read_split
from harness.errors import ConfigError, DataError
from harness.formats import spans
from harness.metrics.klue import compute_mrc_scores, normalize_mrc_answer
from harness.models import load_tokenizer, resolve_model
from harness.results import read_result
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"
MRC = REGISTRY.get("klue/mrc")
FAST = dict(quiet=True, device="cpu", batch_size=8, eval_batch_size=16)


@pytest.fixture(scope="module")
def korean_mrc_model(tmp_path_factory) -> Path:
    texts = [t for split in ("train", "validation") for ex in read_split(MRC, split, FIXTURES).examples
             for t in (ex["question"], ex["context"])]
    return build_korean_bert(tmp_path_factory.mktemp("tiny-korean-mrc"), texts, merges=20)


def _write(root: Path, document) -> Path:
    path = root / "klue/mrc/klue-mrc-v1.1_dev.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return root


def _document(answers, context="한빛산악회는 지리산에 올랐다."):
    qa = {"question": "어느 산에 올랐나?", "answers": answers, "question_type": 1, "is_impossible": not answers,
          "guid": "klue-mrc-v1_dev_00000"}
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": [qa]}]}]}


def test_reader_gives_one_example_per_question_with_answers_and_unanswerable_ones():
    split = read_split(MRC, "validation", FIXTURES)
    assert len(split) == 5 and split.labelled
    first, _, impossible = split.examples[:3]
    assert first["id"] == "klue-mrc-v1_dev_00000" and first["question"] == "한빛산악회는 어느 산에 올랐나?"
    assert first["answers"] == [{"text": "지리산", "answer_start": 14}] and first["label"] == ["지리산"]
    assert first["context"][14:17] == "지리산" and first["question_type"] == 1
    assert impossible["answers"] == [] and impossible["label"] == []


@pytest.mark.parametrize("answers, message", [
    ([{"text": "지리산", "answer_start": 3}], "answer 0 is '지리산' but the context at 3 reads '악회는'; fix answer_start"),
    ([{"text": "지리산", "answer_start": 40}], "answer 0 '지리산' at 40 lies outside the context of 16 characters"),
    ([{"text": "지리산"}], "answer 0 needs text and an integer answer_start"),
])
def test_malformed_answers_name_the_file_question_and_problem(tmp_path, answers, message):
    with pytest.raises(DataError, match=r"data\[0\]\.paragraphs\[0\]\.qas\[0\] \(klue-mrc-v1_dev_00000\)") as caught:
        read_split(MRC, "validation", _write(tmp_path, _document(answers)))
    assert message in str(caught.value)


def test_bad_json_and_a_file_without_data_are_reported(tmp_path):
    path = tmp_path / "klue/mrc/klue-mrc-v1.1_dev.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(DataError, match=r"klue-mrc-v1.1_dev.json:1:\d+: not valid JSON"):
        read_split(MRC, "validation", tmp_path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match="expected an object with a 'data' list"):
        read_split(MRC, "validation", tmp_path)


def test_normalisation_keeps_the_baselines_quirks():
    assert normalize_mrc_answer("  The  'Answer', OK! ") == "the answer ok"  # ASCII punctuation goes
    assert normalize_mrc_answer("《지리산》") == "《지리산》"  # the pattern needs "()‘’" after the bracket
    assert normalize_mrc_answer("《()‘’지리산") == " 지리산".strip()


def test_exact_match_and_rouge_w_on_a_hand_computed_case():
    predictions = ["지리산", "회장 박지호", "", "공룡", "10월 31일까지"]
    references = [["지리산"], ["박지호", "박지호이다"], [], ["공룡 화석"], ["10월 31일"]]
    scores = compute_mrc_scores(["mrc_exact_match", "mrc_rouge_w"], predictions, references)
    assert scores["mrc_exact_match"] == pytest.approx(100 * 2 / 5)  # 지리산 and the empty answer
    # ROUGE-W per question: 1; "회장 박지호" vs "박지호": L 3, P 3/6, R 1 -> 2/3 (vs "박지호이다": L 3, P 1/2,
    # R 3/5 -> 6/11; max 2/3); 1 ("" against ""); "공룡" vs "공룡 화석": P 1, R 2/5 -> 4/7;
    # "10월 31일까지" vs "10월 31일": P 7/9, R 1 -> 14/16.
    assert scores["mrc_rouge_w"] == pytest.approx(100 * (1 + 2 / 3 + 1 + 4 / 7 + 14 / 16) / 5)


def test_an_answer_to_an_unanswerable_question_scores_zero():
    scores = compute_mrc_scores(["mrc_exact_match", "mrc_rouge_w"], ["지리산", ""], [[], ["지리산"]])
    assert scores == {"mrc_exact_match": 0.0, "mrc_rouge_w": 0.0}


def test_unknown_metric_and_misaligned_input_are_refused():
    with pytest.raises(ConfigError, match="unknown MRC metric"):
        compute_mrc_scores(["f1"], ["a"], [["a"]])
    with pytest.raises(DataError, match="2 predicted answers for 1 questions"):
        compute_mrc_scores(["mrc_exact_match"], ["a", "b"], [["a"]])


def test_windows_cover_a_long_context_and_locate_the_answer(korean_mrc_model):
    tokenizer = load_tokenizer(resolve_model(str(korean_mrc_model)))
    examples = read_split(MRC, "train", FIXTURES).examples
    features, windows = spans.encode(tokenizer, examples, max_length=32, stride=8)
    assert len(features) > len(examples)  # contexts overflow 32 tokens: several windows each
    found = set()
    for feature, window in zip(features, windows):
        assert len(feature["input_ids"]) <= 32
        start, end = feature["start_positions"], feature["end_positions"]
        example = examples[window.example]
        if start == 0:
            assert end == 0
            continue
        # The tokens covering the answer (a token may run past it: "삼만 명" ends inside "명이").
        covered = example["context"][window.offsets[start][0]:window.offsets[end][1]]
        assert example["answers"][0]["text"] in covered and covered.startswith(example["answers"][0]["text"][0])
        found.add(window.example)
    assert found == set(range(len(examples)))  # every answer lies whole inside some window


def test_decoding_takes_the_best_span_over_windows_or_nothing(korean_mrc_model):
    tokenizer = load_tokenizer(resolve_model(str(korean_mrc_model)))
    examples = read_split(MRC, "validation", FIXTURES).examples[:3]
    features, windows = spans.encode(tokenizer, examples, max_length=32, stride=8)
    width = max(len(f["input_ids"]) for f in features)
    start_logits = np.full((len(features), width), -5.0)
    end_logits = np.full((len(features), width), -5.0)
    gold = spans.encode(tokenizer, examples, max_length=32, stride=8)[0]
    for w, (feature, window) in enumerate(zip(gold, windows)):
        if window.example == 2:  # unanswerable: the null score wins everywhere
            start_logits[w, 0] = end_logits[w, 0] = 5.0
        elif feature["start_positions"]:
            start_logits[w, feature["start_positions"]] = end_logits[w, feature["end_positions"]] = 5.0
    assert spans.decode(start_logits, end_logits, windows, examples) == ["지리산", "박지호", ""]


def test_doc_stride_must_leave_windows_room_to_advance():
    from harness.config import RunConfig

    with pytest.raises(ConfigError, match="--doc-stride 64 must be at least 0 and below half of --max-length"):
        RunConfig(max_length=128, doc_stride=64)


def test_both_modes_end_to_end_on_the_fixture_files(korean_mrc_model, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "klue" / "mrc", data / "klue" / "mrc")
    evaluation = evaluate(str(korean_mrc_model), tasks=["klue/mrc"], mode="both", data_dir=data,
                          output_dir=tmp_path / "reports", epochs=2, min_steps=0, max_length=48, head_epochs=60,
                          head_learning_rate=1e-2, token_head="linear", layers="last", **FAST)
    assert [r.mode for r in evaluation.results] == ["frozen", "finetune"]
    for result in evaluation.results:
        folder = tmp_path / "reports" / resolve_model(str(korean_mrc_model)).slug / "klue" / "mrc" / f"{result.mode}-seed42"
        written = read_result(folder / "result.json")
        assert written.num_train == 9 and written.num_eval == 5
        assert set(written.scores) == {"mrc_exact_match", "mrc_rouge_w"}
        assert written.main_score == pytest.approx(np.mean(list(written.scores.values())))
        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        assert [r["id"] for r in rows] == [f"klue-mrc-v1_dev_{i:05d}" for i in range(5)]
        for row in rows:  # every answer is a piece of its context (or nothing)
            assert row["prediction"] == "" or row["prediction"] in read_split(MRC, "validation", data).examples[
                int(row["id"][-5:])]["context"]
        assert written.scores == compute_mrc_scores(list(written.scores), [r["prediction"] for r in rows],
                                                    [r["answers"] for r in rows])
    frozen = evaluation.results[0]
    assert frozen.timings["trainable_parameters"] == 32 * 2 + 2  # the linear start/end scorer
