"""What every reader refuses, each named by file, line (or example) and field: scores that are not finite or
outside the task's range, JSON booleans where a number or an index belongs, repeated ids, a missing label
among labelled rows, shifted TSV columns, fields of the wrong type."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data.files import read_split
from harness.data.labels import encode_label
from harness.data.values import describe, finite_number, identifier
from harness.errors import DataError
from harness.tasks import REGISTRY

STSB, KLUE_STS, SST2, COLA = (REGISTRY.get(n) for n in ("glue/stsb", "klue/sts", "glue/sst2", "glue/cola"))


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(root: Path, relative: str, records: list) -> Path:
    return _write(root, relative, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _error(task, root: Path, split: str = "validation") -> str:
    with pytest.raises(DataError) as info:
        read_split(task, split, root)
    assert "\n" not in str(info.value)
    return str(info.value)


# --- scores ----------------------------------------------------------------------------------------

def test_scores_inside_the_range_are_read_as_floats():
    assert encode_label(STSB, "0", "x") == 0.0 and encode_label(STSB, "5.000", "x") == 5.0
    assert encode_label(STSB, 3, "x") == 3.0 and encode_label(KLUE_STS, 4.25, "x") == 4.25
    assert encode_label(STSB, -1, "x") is None  # the Hub's unlabelled test rows


@pytest.mark.parametrize("raw, words", [
    ("5.01", "score '5.01' is outside glue/stsb's range 0..5"), (-0.5, "outside"), ("1e9", "outside"),
    ("nan", "score 'nan' is not a finite number"), (float("inf"), "not a finite number"),
    (True, "score must be a number, found the boolean true"), ([3], "found a list [3]"),
    ({"real-label": 3}, "found an object"), ("four", "score 'four' is not a number"),
])
def test_scores_that_are_not_finite_numbers_in_range_are_refused(raw, words):
    with pytest.raises(DataError) as info:
        encode_label(STSB, raw, "data/dev.tsv:7")
    assert str(info.value).startswith("data/dev.tsv:7: ") and words in str(info.value)


def test_a_task_without_a_range_takes_any_finite_score():
    import dataclasses

    open_ended = dataclasses.replace(STSB, score_range=None)
    assert encode_label(open_ended, "-12.5", "x") == -12.5
    with pytest.raises(DataError, match="not a finite number"):
        encode_label(open_ended, "-inf", "x")


def test_value_helpers():
    assert finite_number(" 2.5 ", "score", "x") == 2.5
    assert identifier(7, "idx", "x") == "7" and identifier("g-1", "guid", "x") == "g-1"
    for bad in (True, None, "", "  ", 2.5, [1]):
        with pytest.raises(DataError, match="'idx' must be an integer or non-empty text"):
            identifier(bad, "idx", "x")
    assert describe(None) == "null" and describe(False) == "the boolean false"
    assert describe("a" * 60) == "text '" + "a" * 36 + "..."


# --- TSV rows that are shifted ----------------------------------------------------------------------

def test_a_row_with_more_columns_than_the_header_is_refused(tmp_path):
    path = _write(tmp_path, "glue/SST-2/dev.tsv", "sentence\tlabel\na\t1\nb\tc\t0\n")
    assert _error(SST2, tmp_path).startswith(f"{path}:3: 3 tab-separated columns where the header has 2")


def test_a_headerless_row_wider_than_the_first_is_refused(tmp_path):
    path = _write(tmp_path, "glue/CoLA/dev.tsv", "s\t1\t\tgood\ns\t1\t\t\tgood\n")
    assert _error(COLA, tmp_path).startswith(f"{path}:2: 5 tab-separated columns where the first row has 4")


def test_a_header_repeating_a_column_name_is_refused(tmp_path):
    path = _write(tmp_path, "glue/SST-2/dev.tsv", "sentence\tsentence\tlabel\ngood film\tbad film\t1\n")
    assert _error(SST2, tmp_path) == (f"{path}:1: the header repeats column name(s) 'sentence'; every column needs "
                                      "its own name: fix the header row")


# --- text that is no Unicode ------------------------------------------------------------------------

def test_a_lone_surrogate_in_a_json_text_names_the_example_and_field(tmp_path):
    """"\\ud800" is valid JSON, yet no text a tokenizer, a fingerprint or a UTF-8 file can hold."""
    records = [{"guid": f"klue-nli-v1_dev_{i:05d}", "premise": "전제", "hypothesis": "가설", "gold_label": "entailment"}
               for i in range(3)]
    text = json.dumps(records, ensure_ascii=False).replace('"전제"', '"전\\ud800제"', 2).replace('"전제"', '"전제"')
    path = _write(tmp_path, "klue/nli/klue-nli-v1.1_dev.json", text)
    assert _error(REGISTRY.get("klue/nli"), tmp_path) == (
        f"{path}: example 0 (klue-nli-v1_dev_00000): field 'premise' holds a lone surrogate '\\ud800' at character 1, "
        "which is no Unicode text; fix or remove the escape in the file")


# --- gold on every example or on none ---------------------------------------------------------------

def test_a_null_label_among_labelled_jsonl_lines_names_its_line(tmp_path):
    rows = [{"question": f"q{i}", "passage": f"p{i}", "idx": i, "label": bool(i % 2)} for i in range(4)]
    rows[2]["label"] = None
    path = _jsonl(tmp_path, "superglue/BoolQ/val.jsonl", rows)
    message = _error(REGISTRY.get("superglue/boolq"), tmp_path)
    assert message.startswith(f"{path}:3: no gold label") and f"({path}:1)" in message


# --- JSON booleans are no numbers, indices or offsets -----------------------------------------------

def test_wic_offsets_and_wsc_indices_must_be_integers(tmp_path):
    wic = {"sentence1": "a bank here", "sentence2": "the bank", "start1": 2, "end1": 6, "start2": 4, "end2": 8,
           "idx": 0, "label": True, "word": "bank"}
    path = _jsonl(tmp_path, "superglue/WiC/val.jsonl", [wic, {**wic, "idx": 1, "start1": True}])
    assert _error(REGISTRY.get("superglue/wic"), tmp_path).startswith(f"{path}:2: span 1 (True..6)")
    target = {"span1_index": 0, "span1_text": "Mark", "span2_index": 2, "span2_text": "he"}
    wsc = {"text": "Mark said he left", "target": target, "idx": 0, "label": False}
    retyped = {**wsc, "idx": 1, "target": {**target, "span2_index": True}}
    path = _jsonl(tmp_path, "superglue/WSC/val.jsonl", [wsc, retyped])
    assert _error(REGISTRY.get("superglue/wsc"), tmp_path).startswith(f"{path}:2: span2_index True")


def test_record_offsets_must_be_integers(tmp_path):
    passage = {"text": "Anna met Ben.", "entities": [{"start": 0, "end": 3}, {"start": 9, "end": True}]}
    path = _jsonl(tmp_path, "superglue/ReCoRD/val.jsonl", [{"idx": 0, "passage": passage, "qas": []}])
    assert _error(REGISTRY.get("superglue/record"), tmp_path).startswith(f"{path}:1: entity 1: needs integer start")


def test_klue_re_offsets_must_be_integers(tmp_path):
    record = {"guid": "re-0", "sentence": "이서연은 부산에서 태어났다.", "label": "per:place_of_birth",
              "subject_entity": {"word": "이서연", "start_idx": 0, "end_idx": 2, "type": "PER"},
              "object_entity": {"word": "부산", "start_idx": "5", "end_idx": 6, "type": "LOC"}}
    path = _write(tmp_path, "klue/re/klue-re-v1.1_dev.json", json.dumps([record], ensure_ascii=False))
    message = _error(REGISTRY.get("klue/re"), tmp_path)
    assert message.startswith(f"{path}: example 0 (re-0): the object entity needs word, start_idx, end_idx")


# --- ids and groups ---------------------------------------------------------------------------------

def test_a_repeated_klue_ner_guid_names_both_sentences(tmp_path):
    sentence = "## klue-ner-v1_dev_00007\t가나\n가\tO\n나\tO\n"
    path = _write(tmp_path, "klue/ner/klue-ner-v1.1_dev.tsv", f"{sentence}\n{sentence}")
    message = _error(REGISTRY.get("klue/ner"), tmp_path)
    assert message.startswith(f"{path}:6: example id 'klue-ner-v1_dev_00007' repeats the one at {path}:2")


def test_a_repeated_multirc_answer_idx_names_both(tmp_path):
    answers = [{"text": "yes", "idx": 0, "label": 1}, {"text": "no", "idx": 0, "label": 0}]
    passage = {"text": "A paragraph.", "questions": [{"question": "Which?", "idx": 3, "answers": answers}]}
    path = _jsonl(tmp_path, "superglue/MultiRC/val.jsonl", [{"idx": 0, "passage": passage}])
    message = _error(REGISTRY.get("superglue/multirc"), tmp_path)
    assert message.startswith(f"{path}:1: question 0, answer 1: example id") and "answer 0" in message


def test_a_group_must_be_an_identifier(tmp_path):
    rows = [{"premise": "p", "hypothesis": f"h{i}", "idx": i, "label": "entailment", "pair_id": 1} for i in range(2)]
    rows[1]["pair_id"] = None
    path = _jsonl(tmp_path, "superglue/AX-g/AX-g.jsonl", rows)
    assert _error(REGISTRY.get("superglue/axg"), tmp_path).startswith(f"{path}:2: field 'group' must be an integer")


# --- KLUE-MRC and KLUE-WoS fields that must be there ------------------------------------------------

@pytest.mark.parametrize("drop, words", [("answers", "field 'answers' is missing"),
                                         ("question_type", "field 'question_type' is missing")])
def test_an_mrc_question_needs_its_answers_and_type(tmp_path, drop, words):
    qa = {"guid": "mrc-1", "question": "어디?", "answers": [], "question_type": 3, "is_impossible": True}
    del qa[drop]
    document = {"data": [{"title": "t", "paragraphs": [{"context": "문맥", "qas": [qa]}]}]}
    path = _write(tmp_path, "klue/mrc/klue-mrc-v1.1_dev.json", json.dumps(document, ensure_ascii=False))
    message = _error(REGISTRY.get("klue/mrc"), tmp_path)
    assert message.startswith(f"{path}: data[0].paragraphs[0].qas[0]") and words in message


@pytest.mark.parametrize("turn, words", [({"role": "user", "text": "안녕"}, "field 'state' is missing"),
                                         ("안녕", "must be an object, found text '안녕'")])
def test_a_wos_turn_must_be_an_object_and_a_user_turn_needs_its_state(tmp_path, turn, words):
    fixtures = Path(__file__).parent / "fixtures" / "klue" / "wos"
    _write(tmp_path, "klue/wos/ontology.json", (fixtures / "ontology.json").read_text(encoding="utf-8"))
    path = _write(tmp_path, "klue/wos/wos-v1.1_dev.json", json.dumps([{"guid": "d1", "dialogue": [turn]}]))
    message = _error(REGISTRY.get("klue/wos"), tmp_path)
    assert message.startswith(f"{path}: d1, turn 0: ") and words in message


def test_a_multirc_answer_that_is_not_an_object(tmp_path):
    passage = {"text": "A paragraph.", "questions": [{"question": "Which?", "idx": 0, "answers": ["yes"]}]}
    path = _jsonl(tmp_path, "superglue/MultiRC/val.jsonl", [{"idx": 0, "passage": passage}])
    assert _error(REGISTRY.get("superglue/multirc"), tmp_path) == (
        f"{path}:1: question 0, answer 0: expected an object with field 'text', found text 'yes'")
