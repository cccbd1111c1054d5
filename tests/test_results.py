"""RunResult files: round trip, predictions, atomic writes, clear errors on bad files, and the result set."""
from __future__ import annotations

import json
import math
import os
import stat

import pytest

from harness.results import store as results_module
from harness.errors import DataError
from harness.results import (
    PREDICTIONS_FILE,
    RESULT_FILE,
    SCHEMA,
    ResultSet,
    RunResult,
    atomic_write,
    atomic_write_text,
    environment,
    read_prediction_rows,
    read_result,
    run_dir,
    write_run,
)


def make_result(**changes) -> RunResult:
    fields = dict(
        suite="glue", task="mrpc", task_version=1, model="bert-base", mode="frozen", seed=42,
        scores={"accuracy": 75.5, "f1": 83.25}, main_score=79.375, split_strategy="official",
        num_train=3668, num_eval=408,
        provenance={"model": {"hub_id": "google-bert/bert-base-uncased"}, "hyperparameters": {"epochs": 3.0},
                    "note": "naïve ünïcode ✓"},
        timings={"total_s": 12.5, "trainable_parameters": 1538},
    )
    fields.update(changes)
    return RunResult(**fields)


PREDICTIONS = [{"id": "glue/MRPC/dev.tsv:2", "prediction": 1, "label": 1},
               {"id": "glue/MRPC/dev.tsv:3", "prediction": 0, "label": 1, "text": "café \"quoted\""}]


def test_run_dir_layout(tmp_path):
    assert run_dir(tmp_path, "bert-base", "glue", "mrpc", "finetune", 7) == tmp_path / "bert-base/glue/mrpc/finetune-seed7"


def test_write_then_read_round_trip(tmp_path):
    result = make_result(capped={"max_train_samples": 100}, scores_std={"accuracy": 1.5}, split_note="n")
    directory = run_dir(tmp_path, "bert-base", "glue", "mrpc", "frozen", 42)
    path = write_run(directory, result, PREDICTIONS)
    assert path == directory / RESULT_FILE
    back = read_result(path)
    assert back == result
    assert back.task_id == "glue/mrpc" and back.schema == SCHEMA
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["main_score"] == 79.375 and raw["schema"] == "harness.run/1"
    assert raw["predictions_file"] == PREDICTIONS_FILE
    assert list(raw) == sorted(raw)  # sorted keys: stable diffs
    assert "naïve ünïcode ✓" in path.read_text(encoding="utf-8")  # not \u-escaped


def test_predictions_jsonl(tmp_path):
    write_run(tmp_path, make_result(), PREDICTIONS)
    text = (tmp_path / PREDICTIONS_FILE).read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2
    assert [json.loads(line) for line in lines] == PREDICTIONS
    assert 'café \\"quoted\\"' in lines[1]


def test_empty_predictions(tmp_path):
    write_run(tmp_path, make_result(), [])
    assert (tmp_path / PREDICTIONS_FILE).read_text(encoding="utf-8") == ""
    assert read_result(tmp_path / RESULT_FILE) == make_result()


def test_write_leaves_no_temp_files(tmp_path):
    write_run(tmp_path, make_result(), PREDICTIONS)
    write_run(tmp_path, make_result(seed=1), PREDICTIONS)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == [PREDICTIONS_FILE, RESULT_FILE]
    assert read_result(tmp_path / RESULT_FILE).seed == 1


def test_unserialisable_predictions_leave_existing_files_intact(tmp_path):
    write_run(tmp_path, make_result(), PREDICTIONS)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TypeError):
        write_run(tmp_path, make_result(seed=1), [{"id": "x", "prediction": object()}])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failed_rename_removes_temp_and_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_failed_write_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "out.txt"

    real_fdopen = os.fdopen

    def fdopen(*args, **kwargs):
        handle = real_fdopen(*args, **kwargs)

        def write(text):
            raise KeyboardInterrupt  # even an interrupt must not leave a temp file

        handle.write = write
        return handle

    monkeypatch.setattr(results_module.os, "fdopen", fdopen)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "text")
    assert list((tmp_path / "sub").iterdir()) == []


def test_atomic_write_creates_parents(tmp_path):
    target = tmp_path / "a" / "b" / "c.md"
    atomic_write_text(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode("utf-8")


def test_unserialisable_result_leaves_previous_run_intact(tmp_path):
    write_run(tmp_path, make_result(), PREDICTIONS)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DataError, match="'scores' must be an object of metric -> number"):
        write_run(tmp_path, make_result(seed=1, scores={"accuracy": object()}), [{"id": "new", "prediction": 0}])
    with pytest.raises(TypeError):
        write_run(tmp_path, make_result(seed=1, provenance={"x": object()}), [{"id": "new", "prediction": 0}])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_undefined_scores_are_written_as_null_and_read_back_as_nan(tmp_path):
    result = make_result(task="stsb", scores={"pearson": math.nan, "spearman": 12.5}, main_score=math.nan,
                         scores_std={"pearson": math.nan}, provenance={"chosen": {"cv_accuracy": math.nan}})
    path = write_run(tmp_path, result, PREDICTIONS)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text  # JSON has no NaN: a strict reader would refuse the file
    raw = json.loads(text)
    assert raw["scores"] == {"pearson": None, "spearman": 12.5} and raw["main_score"] is None
    assert raw["scores_std"] == {"pearson": None} and raw["provenance"]["chosen"]["cv_accuracy"] is None
    back = read_result(path)
    assert math.isnan(back.scores["pearson"]) and back.scores["spearman"] == 12.5 and math.isnan(back.main_score)


@pytest.mark.parametrize("field, value, says", [
    ("scores", "high", "an object of metric -> number"),
    ("scores", {"accuracy": "80"}, "an object of metric -> number"),
    ("scores", {}, "an object of metric -> number"),
    ("timings", None, "an object of measure -> number"),
    ("timings", {"total_s": "fast"}, "an object of measure -> number"),
    ("main_score", "80", "a number"),
    ("main_score", True, "a number"),
    ("suite", "../README", "a suite name"),
    ("suite", "glue/../../x", "a suite name"),
    ("task", "..", "a task name"),
    ("task", "a\\b", "a task name"),
    ("model", "m`m", "a model name on one line"),
    ("model", "two\nlines", "a model name on one line"),
    ("mode", "both", "one of frozen, finetune"),
    ("seed", -1, "a whole number"),
    ("seed", 4.2, "a whole number"),
    ("num_eval", "many", "a whole number"),
    ("split_strategy", "random", "one of official, holdout, kfold"),
    ("provenance", [], "an object"),
    ("capped", {"max_train_samples": "all"}, "an object of cap"),
    ("flags", [{"code": 1}], "a list of objects"),
    ("predictions_file", "../../../secret.jsonl", "a file inside the run folder"),
    ("predictions_file", "/etc/passwd", "a file inside the run folder"),
    ("predictions_file", "C:\\Windows\\x", "a file inside the run folder"),
])
def test_a_field_readers_cannot_use_is_named_with_the_file(tmp_path, field, value, says):
    path = write_run(tmp_path, make_result(), PREDICTIONS)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_result(path)
    message = str(info.value)
    assert message.startswith(f"{path}: field {field!r} must be {says}") and "\n" not in message


def test_a_predictions_file_linked_out_of_the_run_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text("{}\n", encoding="utf-8")
    folder = tmp_path / "run"
    path = write_run(folder, make_result(), PREDICTIONS)
    (folder / PREDICTIONS_FILE).unlink()
    (folder / PREDICTIONS_FILE).symlink_to(secret)
    with pytest.raises(DataError, match="'predictions_file' leads out of the run folder"):
        read_result(path)


def test_writable_folder_and_file_refuse_files_folders_and_unwritable_places(tmp_path):
    from harness.errors import ConfigError
    from harness.results import writable_file, writable_folder

    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    assert writable_folder(tmp_path / "new" / "reports", "--output-dir").is_dir()
    with pytest.raises(ConfigError, match=f"^--output-dir {a_file} is a file, not a folder"):
        writable_folder(a_file, "--output-dir")
    with pytest.raises(ConfigError, match=f"^--output-dir {a_file / 'sub'} cannot be written"):
        writable_folder(a_file / "sub", "--output-dir")
    assert not writable_folder(tmp_path / "not-made", "--out", create=False).exists()
    with pytest.raises(ConfigError, match=f"^--out {tmp_path} is a folder; name a file"):
        writable_file(tmp_path, "--out")
    with pytest.raises(ConfigError, match=f"^--out {a_file / 'out.csv'}: its folder {a_file} is a file"):
        writable_file(a_file / "out.csv", "--out")
    assert writable_file(tmp_path / "made" / "out.csv", "--out").parent.is_dir()


def test_written_files_respect_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_run(tmp_path, make_result(), PREDICTIONS)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# --- reading bad files ---------------------------------------------------------------------------

def test_flags_round_trip_and_results_written_before_them_read_with_none(tmp_path):
    flagged = make_result(flags=[{"code": "undefined_correlation", "message": "the predictions are constant"}])
    path = write_run(run_dir(tmp_path, "m", "glue", "mrpc", "frozen", 42), flagged, PREDICTIONS)
    assert read_result(path).flags == flagged.flags
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["flags"]  # as in result.json files written before runs carried flags
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert read_result(path).flags == []


def test_truncated_json(tmp_path):
    path = write_run(tmp_path, make_result(), PREDICTIONS)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_result(path)
    assert str(path) in str(info.value) and "not a readable JSON result" in str(info.value)


@pytest.mark.parametrize("content", ['{"foo": 1}', "[1, 2]", '"text"', '{"schema": "other/1", "suite": "glue"}'])
def test_foreign_json(tmp_path, content):
    path = tmp_path / RESULT_FILE
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_result(path)
    assert str(path) in str(info.value) and SCHEMA in str(info.value)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(DataError, match="nope.json"):
        read_result(tmp_path / "nope.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="bin.json"):
        read_result(tmp_path / "bin.json")


def test_missing_fields_are_listed(tmp_path):
    raw = make_result().to_dict()
    del raw["main_score"], raw["timings"]
    del raw["capped"]  # has a default: not required
    path = tmp_path / RESULT_FILE
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_result(path)
    message = str(info.value)
    assert str(path) in message and "main_score" in message and "timings" in message
    assert "capped" not in message


def test_defaults_and_unknown_keys(tmp_path):
    raw = make_result().to_dict()
    for key in ("capped", "scores_std", "split_note", "predictions_file"):
        del raw[key]
    raw["added_in_a_later_version"] = {"x": 1}
    path = tmp_path / RESULT_FILE
    path.write_text(json.dumps(raw), encoding="utf-8")
    back = read_result(path)
    assert back == make_result()
    assert back.capped == {} and back.predictions_file == PREDICTIONS_FILE


# --- provenance ----------------------------------------------------------------------------------

def test_environment():
    env = environment()
    assert {"harness_version", "git_commit", "python", "platform", "libraries"} <= set(env)
    assert isinstance(env["harness_version"], str) and env["harness_version"]
    assert {"torch", "transformers", "numpy", "pandas", "scikit-learn"} <= set(env["libraries"])
    import numpy
    import torch

    assert env["libraries"]["numpy"] == numpy.__version__
    assert env["libraries"]["torch"].split("+")[0] == torch.__version__.split("+")[0]
    import platform

    assert env["python"] == platform.python_version()
    assert env["git_commit"] is None or (len(env["git_commit"]) == 40 and int(env["git_commit"], 16) >= 0)
    json.dumps(env)  # it goes into a JSON file


# --- the result set ------------------------------------------------------------------------------

def scored_result(**changes) -> RunResult:
    """make_result scored as PREDICTIONS score: a result a ResultSet accepts."""
    scores = {"accuracy": 50.0, "f1": 200 / 3}  # one of two right; F1 = 2 * 1 / (2 * 1 + 0 + 1)
    return make_result(scores=scores, main_score=(50.0 + 200 / 3) / 2, num_eval=len(PREDICTIONS), **changes)


def test_result_set_reads_sorted_runs_and_names_bad_files(tmp_path):
    write_run(run_dir(tmp_path, "m", "glue", "mrpc", "frozen", 2), scored_result(seed=2), PREDICTIONS)
    write_run(run_dir(tmp_path, "m", "glue", "mrpc", "frozen", 1), scored_result(seed=1), PREDICTIONS)
    bad = tmp_path / "x" / RESULT_FILE
    bad.parent.mkdir()
    bad.write_text("{", encoding="utf-8")
    results = ResultSet.load(tmp_path)
    assert [run.result.seed for run in results.runs] == [1, 2]
    assert results.runs[0].folder == run_dir(tmp_path, "m", "glue", "mrpc", "frozen", 1)
    assert len(results.problems) == 1 and str(bad) in results.problems[0]
    with pytest.raises(DataError, match="does not exist"):
        ResultSet.load(tmp_path / "nope")


def test_result_set_reads_prediction_rows_once(tmp_path):
    write_run(tmp_path, scored_result(), PREDICTIONS)
    results = ResultSet.of_run(tmp_path)
    run = results.runs[0]
    assert results.rows(run) == PREDICTIONS
    (tmp_path / PREDICTIONS_FILE).unlink()
    assert results.rows(run) == PREDICTIONS  # cached: the file is not read again
    assert results.intervals(100) is results.intervals(100)


def test_one_run_set_needs_a_run_folder(tmp_path):
    with pytest.raises(DataError, match="holds no result.json"):
        ResultSet.of_run(tmp_path)


def test_bad_prediction_line_is_named(tmp_path):
    (tmp_path / PREDICTIONS_FILE).write_text('{"id": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{PREDICTIONS_FILE}:2"):
        read_prediction_rows(tmp_path / PREDICTIONS_FILE)


def test_atomic_write_bytes(tmp_path):
    target = tmp_path / "plot.png"
    atomic_write(target, b"\x89PNG\x00")
    assert target.read_bytes() == b"\x89PNG\x00" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]
