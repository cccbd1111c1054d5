"""Bad data through the CLI: exit 2 with one line on stderr naming the file, the line (or example) and
the field, before any compute, and no result written. One test per kind of bad file of issue 13."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def _eval(model: Path, data_dir: Path, out: Path, task: str, capsys) -> str:
    """Run the task (holdout, so a train file taken for missing would silently run on validation) and
    return the one error line, after checking the exit status and that nothing was written."""
    code = main(["eval", "--model", str(model), "--tasks", task, "--mode", "frozen", "--data-dir", str(data_dir),
                 "--output-dir", str(out), "--split-strategy", "holdout", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    assert not list(out.rglob("result.json")) and not list(out.rglob("predictions*"))
    return lines[0]


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _klue_json(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _cb(n: int = 10) -> list[dict]:
    return [{"premise": f"premise {i}", "hypothesis": f"hypothesis {i}", "idx": i,
             "label": ("entailment", "contradiction", "neutral")[i % 3]} for i in range(n)]


def _klue_sts(n: int = 10) -> list[dict]:
    return [{"guid": f"klue-sts-v1_dev_{i:05d}", "source": "x", "sentence1": f"문장 {i}",
             "sentence2": f"다른 문장 {i}",
             "labels": {"label": 2.5, "real-label": 2.5 + i / 10, "binary-label": 0}} for i in range(n)]


def _klue_nli(n: int = 10) -> list[dict]:
    return [{"guid": f"klue-nli-v1_dev_{i:05d}", "source": "x", "premise": f"전제 {i}", "hypothesis": f"가설 {i}",
             "gold_label": ("entailment", "neutral", "contradiction")[i % 3]} for i in range(n)]


# --- 1. regression scores: finite and inside the task's range ----------------------------------------

@pytest.mark.parametrize("score, words", [("9.0", "outside glue/stsb's range 0..5"), ("-3", "outside"),
                                          ("nan", "not a finite number"), ("inf", "not a finite number"),
                                          ("true", "'true' is not a number")])
def test_a_stsb_score_outside_0_to_5_or_not_finite(tiny_model_dir, glue_dir, tmp_path, capsys, score, words):
    dev = glue_dir / "glue/STS-B/dev.tsv"
    lines = dev.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rsplit("\t", 1)[0] + f"\t{score}"
    dev.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = _eval(tiny_model_dir, glue_dir, tmp_path / "out", "stsb", capsys)
    assert f"{dev}:6: score" in line and words in line


@pytest.mark.parametrize("score, words", [(True, "found the boolean true"), (5.5, "outside klue/sts's range 0..5")])
def test_a_klue_sts_score_that_is_a_boolean_or_out_of_range(tiny_model_dir, tmp_path, capsys, score, words):
    records = _klue_sts()
    records[4]["labels"]["real-label"] = score
    dev = _klue_json(tmp_path / "data/klue/sts/klue-sts-v1.1_dev.json", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "klue/sts", capsys)
    assert f"{dev}: example 4 (klue-sts-v1_dev_00004): score" in line and words in line


# --- 2. duplicate example ids ------------------------------------------------------------------------

def test_a_repeated_idx_names_both_lines(tiny_model_dir, tmp_path, capsys):
    records = _cb()
    records[6]["idx"] = 2
    val = _jsonl(tmp_path / "data/superglue/CB/val.jsonl", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "cb", capsys)
    assert f"{val}:7: example id 'superglue/CB/val.jsonl#2' repeats the one at {val}:3" in line


def test_a_repeated_guid_names_both_examples(tiny_model_dir, tmp_path, capsys):
    records = _klue_nli()
    records[8]["guid"] = records[1]["guid"]
    dev = _klue_json(tmp_path / "data/klue/nli/klue-nli-v1.1_dev.json", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "klue/nli", capsys)
    assert f"{dev}: example 8 (klue-nli-v1_dev_00001)" in line and f"repeats the one at {dev}: example 1" in line


# --- 3. a JSON boolean is no COPA label --------------------------------------------------------------

def test_copa_label_true_is_refused(tiny_model_dir, tmp_path, capsys):
    records = [{"premise": f"premise {i}", "choice1": f"one {i}", "choice2": f"two {i}", "question": "cause",
                "label": i % 2, "idx": i} for i in range(10)]
    records[3]["label"] = True
    val = _jsonl(tmp_path / "data/superglue/COPA/val.jsonl", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "copa", capsys)
    assert f"{val}:4: label True is not the index of one of the 2 choices (0..1); a JSON true/false is no index" in line


# --- 4. a malformed train file is an error, never a missing split ------------------------------------

@pytest.mark.parametrize("rows, words", [({4: ""}, "no gold label"), ("all", "no labelled train split")])
def test_empty_labels_in_train_tsv_are_an_error_not_a_missing_split(tiny_model_dir, glue_dir, tmp_path, capsys,
                                                                     rows, words):
    train = glue_dir / "glue/SST-2/train.tsv"
    lines = train.read_text(encoding="utf-8").splitlines()
    for n in range(1, len(lines)) if rows == "all" else rows:
        lines[n] = lines[n].rsplit("\t", 1)[0] + "\t"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = _eval(tiny_model_dir, glue_dir, tmp_path / "out", "sst2", capsys)
    assert words in line
    assert (f"{train}:5: no gold label" in line) if rows != "all" else "glue/SST-2/train.tsv holds no labels" in line


# --- 16. text fields that are not text; a MultiRC question that is not an object ---------------------

@pytest.mark.parametrize("value, found", [(None, "null"), (42, "the number 42"), (["a", "b"], "a list")])
def test_a_superglue_text_field_that_is_not_text(tiny_model_dir, tmp_path, capsys, value, found):
    records = _cb()
    records[2]["hypothesis"] = value
    val = _jsonl(tmp_path / "data/superglue/CB/val.jsonl", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "cb", capsys)
    assert f"{val}:3: field 'hypothesis' must be text (a string), found {found}" in line


def test_a_klue_text_field_that_is_not_text(tiny_model_dir, tmp_path, capsys):
    records = _klue_nli()
    records[5]["premise"] = 7
    dev = _klue_json(tmp_path / "data/klue/nli/klue-nli-v1.1_dev.json", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "klue/nli", capsys)
    assert f"{dev}: example 5 (klue-nli-v1_dev_00005): field 'premise' must be text" in line


def test_a_multirc_question_that_is_not_an_object(tiny_model_dir, tmp_path, capsys):
    answers = [{"text": f"answer {a}", "idx": a, "label": a % 2} for a in range(4)]
    records = [{"idx": p, "passage": {"text": f"paragraph {p}", "questions": [
        {"question": f"question {p}", "idx": p, "answers": answers}]}} for p in range(6)]
    records[2]["passage"]["questions"].append("what is this?")
    val = _jsonl(tmp_path / "data/superglue/MultiRC/val.jsonl", records)
    line = _eval(tiny_model_dir, tmp_path / "data", tmp_path / "out", "multirc", capsys)
    assert f"{val}:3: question 1: expected an object with field 'answers', found text 'what is this?'" in line


# --- 20. an unsafe task YAML: one line naming it, and the other tasks still list ---------------------

def test_an_unsafe_task_yaml_is_one_line_and_the_others_still_list(tmp_path, monkeypatch, capsys):
    import harness.tasks

    good = Path(harness.tasks.TASKS_DIR / "glue/sst2.yaml").read_text(encoding="utf-8")
    (tmp_path / "glue").mkdir()
    (tmp_path / "glue/sst2.yaml").write_text(good, encoding="utf-8")
    bad = tmp_path / "glue/evil.yaml"
    bad.write_text("suite: glue\nname: evil\nversion: !!python/object/apply:os.system ['echo owned']\n")
    monkeypatch.setattr(harness.tasks, "REGISTRY", harness.tasks.TaskRegistry(tmp_path))
    assert main(["list", "tasks"]) == 2
    captured = capsys.readouterr()
    assert "glue/sst2" in captured.out and "evil" not in captured.out and "owned" not in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"harness: error: {bad}:3:")
    assert "python/object" in lines[0] and "plain YAML" in lines[0]
