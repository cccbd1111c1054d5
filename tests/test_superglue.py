"""SuperGLUE's JSONL files: the reader, label encoding (JSON booleans, class names) and clear errors."""
from __future__ import annotations

import json

import pytest

from harness.data.files import read_split
from harness.errors import DataError
from harness.tasks import REGISTRY

BOOLQ, CB, RTE = (REGISTRY.get(f"superglue/{name}") for name in ("boolq", "cb", "rte"))


def _write(root, relative, lines):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line if isinstance(line, str) else json.dumps(line) + "\n" for line in lines),
                    encoding="utf-8")
    return root


def test_boolq_reads_questions_passages_and_boolean_labels(tmp_path):
    rows = [{"question": "is the sky blue", "passage": "The sky is blue.", "idx": 0, "label": True},
            {"question": "is grass red", "passage": "Grass is green.", "idx": 1, "label": False}]
    split = read_split(BOOLQ, "validation", _write(tmp_path, "superglue/BoolQ/val.jsonl", rows))
    assert [ex["label"] for ex in split.examples] == [1, 0]  # labels: ["False", "True"]
    first = split.examples[0]
    assert first["id"] == "superglue/BoolQ/val.jsonl#0"
    assert (first["text"], first["text_pair"]) == ("is the sky blue", "The sky is blue.")


def test_the_unlabelled_test_file_is_read_through_its_own_fields(tmp_path):
    rows = [{"premise": "A man sleeps.", "hypothesis": "A man rests.", "idx": 7}]
    split = read_split(RTE, "test", _write(tmp_path, "superglue/RTE/test.jsonl", rows))
    assert split.examples[0]["id"] == "superglue/RTE/test.jsonl#7"
    assert split.examples[0]["label"] is None and not split.labelled


@pytest.mark.parametrize("lines, message", [
    (['{"premise": "a", "hypothesis": "b", "label": "neutral", "idx": 0}\n', '{"premise": "a",\n'],
     r"val.jsonl:2:\d+: not valid JSON .*one object per line"),
    ([{"premise": "a", "label": "neutral", "idx": 0}],
     r"val.jsonl:1: field 'hypothesis' is missing \(needed for 'text_pair' of superglue/cb\)"),
    ([{"premise": "a", "hypothesis": "b", "label": "maybe", "idx": 0}],
     r"val.jsonl:1: label 'maybe' is not in superglue/cb's label set"),
])
def test_malformed_lines_name_file_line_and_field(tmp_path, lines, message):
    with pytest.raises(DataError, match=message):
        read_split(CB, "validation", _write(tmp_path, "superglue/CB/val.jsonl", lines))


def test_the_real_files(shared_data):
    if not (shared_data / "superglue").is_dir():
        pytest.skip("no SuperGLUE files in the shared data")
    counts = [(BOOLQ, "validation", 3270, 2033), (CB, "validation", 56, None), (RTE, "train", 2490, None),
              (RTE, "validation", 277, None)]
    for task, split_name, rows, true_count in counts:
        split = read_split(task, split_name, shared_data)
        assert len(split) == rows and split.labelled
        if true_count is not None:
            assert sum(ex["label"] for ex in split.examples) == true_count
    cb = read_split(CB, "validation", shared_data).examples
    assert [sum(ex["label"] == i for ex in cb) for i in range(3)] == [23, 28, 5]  # entailment, contradiction, neutral
    assert len(read_split(RTE, "test", shared_data)) == 3000


def test_axb_recasts_the_glue_diagnostic_to_two_classes(tmp_path):
    axb = REGISTRY.get("superglue/axb")
    header = "Lexical Semantics\tPredicate-Argument Structure\tLogic\tKnowledge\tDomain\tPremise\tHypothesis\tLabel"
    rows = [header] + [f"\t\t\t\tNews\tA man sleeps.\tA man {verb}.\t{label}"
                       for verb, label in (("rests", "entailment"), ("runs", "contradiction"), ("dreams", "neutral"))]
    path = tmp_path / "glue/diagnostic/diagnostic-full.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    split = read_split(axb, "validation", tmp_path)
    assert [axb.labels[ex["label"]] for ex in split.examples] == ["entailment", "not_entailment", "not_entailment"]
    assert axb.model_from == "superglue/rte" and not axb.in_suite_score


def test_a_label_map_into_an_unknown_label_is_a_task_error():
    from harness.errors import TaskError
    from harness.tasks import parse_task

    raw = {"suite": "s", "name": "t", "version": 1, "format": "n21", "kind": "classification",
           "fields": {"text": "a", "label": "b"}, "labels": ["yes", "no"], "label_map": {"maybe": "perhaps"},
           "metrics": ["accuracy"], "main_score": "accuracy"}
    with pytest.raises(TaskError, match="t.yaml: label_map maps to 'perhaps', which is not among its labels"):
        parse_task(raw, "t.yaml")


def test_the_real_diagnostic_file_as_axb(shared_data):
    axb = REGISTRY.get("superglue/axb")
    if not (shared_data / axb.files["validation"].path).is_file():
        pytest.skip("no GLUE diagnostic file in the shared data")
    labels = [ex["label"] for ex in read_split(axb, "validation", shared_data).examples]
    assert (labels.count(0), labels.count(1)) == (460, 386 + 258)
