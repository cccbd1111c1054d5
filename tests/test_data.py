"""Official GLUE files -> examples, data dir resolution, and split planning (official/holdout/kfold/caps)."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from harness.data import DataSplit
from harness.data.files import file_sha256, read_split, resolve_data_dir
from harness.data.labels import encode_label
from harness.data.splits import eval_only_plan, load_splits, plan_splits
from harness.errors import ConfigError, DataError
from harness.tasks import REGISTRY, parse_task

SST2 = REGISTRY.get("glue/sst2")
MRPC = REGISTRY.get("glue/mrpc")
COLA = REGISTRY.get("glue/cola")
STSB = REGISTRY.get("glue/stsb")
MNLI = REGISTRY.get("glue/mnli")
AX = REGISTRY.get("glue/ax")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _sst2_dev(root: Path, lines: list[str]) -> Path:
    return _write(root / "glue" / "SST-2" / "dev.tsv", "\n".join(["sentence\tlabel", *lines]) + "\n")


# --- reading official files ----------------------------------------------------------------------

def test_read_sst2_with_header(glue_dir):
    split = read_split(SST2, "validation", glue_dir)
    assert split.name == "validation" and len(split) == 32
    path = glue_dir / "glue/SST-2/dev.tsv"
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    assert [ex["text"] for ex in split.examples] == [r.split("\t")[0] for r in rows]
    assert [ex["label"] for ex in split.examples] == [i % 2 for i in range(32)]
    assert split.examples[0]["id"] == "glue/SST-2/dev.tsv:2"  # line 1 is the header
    assert split.examples[-1]["id"] == "glue/SST-2/dev.tsv:33"
    assert "text_pair" not in split.examples[0]
    assert split.labelled
    assert split.source == {"kind": "file", "path": "glue/SST-2/dev.tsv",
                            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert file_sha256(path) == split.source["sha256"]


def test_read_cola_without_header_or_final_newline(glue_dir):
    path = glue_dir / "glue/CoLA/dev.tsv"
    raw = path.read_text(encoding="utf-8")
    assert not raw.endswith("\n")
    split = read_split(COLA, "validation", glue_dir)
    rows = raw.split("\n")
    assert len(split) == len(rows) == 40
    assert split.examples[0]["id"] == "glue/CoLA/dev.tsv:1"  # no header: the first line is data
    assert split.examples[-1]["text"] == rows[-1].split("\t")[3]  # the unterminated last line is read whole
    assert [ex["label"] for ex in split.examples] == [i % 2 for i in range(40)]
    assert read_split(COLA, "train", glue_dir) is None  # the fixture has no CoLA train file


def test_read_mrpc_with_bom_header(glue_dir):
    path = glue_dir / "glue/MRPC/dev.tsv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    split = read_split(MRPC, "validation", glue_dir)
    assert len(split) == 32
    first = path.read_text(encoding="utf-8-sig").splitlines()[1].split("\t")
    assert split.examples[0] == {"id": "glue/MRPC/dev.tsv:2", "text": first[3], "text_pair": first[4],
                                 "label": int(first[0])}


def test_read_stsb_scores_are_floats(glue_dir):
    split = read_split(STSB, "validation", glue_dir)
    lines = (glue_dir / "glue/STS-B/dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert [ex["label"] for ex in split.examples] == [float(line.split("\t")[-1]) for line in lines]
    assert all(isinstance(ex["label"], float) for ex in split.examples)
    assert split.examples[3]["text_pair"] == lines[3].split("\t")[8]


def test_quotes_are_kept_verbatim(tmp_path):
    _sst2_dev(tmp_path, ['he said "hello" to me\t1', 'an "unbalanced quote here\t0', "'single' and \"\"\t1",
                         '"fully quoted"\t0'])
    split = read_split(SST2, "validation", tmp_path)
    assert [ex["text"] for ex in split.examples] == [
        'he said "hello" to me', 'an "unbalanced quote here', "'single' and \"\"", '"fully quoted"']
    assert [ex["label"] for ex in split.examples] == [1, 0, 1, 0]


def test_crlf_line_endings(tmp_path):
    (tmp_path / "glue/SST-2").mkdir(parents=True)
    (tmp_path / "glue/SST-2/dev.tsv").write_bytes(b"sentence\tlabel\r\na b\t1\r\nc d\t0\r\n")
    split = read_split(SST2, "validation", tmp_path)
    assert [(ex["text"], ex["label"]) for ex in split.examples] == [("a b", 1), ("c d", 0)]


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    path = _sst2_dev(tmp_path, ["a\t1", "", "b\t0", "c\t7"])
    with pytest.raises(DataError) as info:
        read_split(SST2, "validation", tmp_path)
    assert f"{path}:5" in str(info.value)  # header 1, a 2, blank 3, b 4, c 5
    _sst2_dev(tmp_path, ["a\t1", "", "b\t0"])
    split = read_split(SST2, "validation", tmp_path)
    assert [ex["id"] for ex in split.examples] == ["glue/SST-2/dev.tsv:2", "glue/SST-2/dev.tsv:4"]


def test_a_file_without_labels_is_unlabelled(tmp_path):
    _sst2_dev(tmp_path, ["a\t", "b\t"])
    split = read_split(SST2, "validation", tmp_path)
    assert [ex["label"] for ex in split.examples] == [None, None]
    assert not split.labelled
    assert not DataSplit("validation", []).labelled


def test_one_empty_label_among_labelled_rows_names_its_line(tmp_path):
    path = _sst2_dev(tmp_path, ["a\t1", "b\t", "c\t0"])
    with pytest.raises(DataError) as info:
        read_split(SST2, "validation", tmp_path)
    assert str(info.value).startswith(f"{path}:3: no gold label") and f"{path}:2" in str(info.value)


def test_missing_file_or_split_gives_none(tmp_path):
    assert read_split(SST2, "validation", tmp_path) is None
    assert read_split(SST2, "test", tmp_path) is None  # no such split in the task
    assert load_splits(SST2, tmp_path) == {"train": None, "validation": None}


def test_short_line_names_path_and_line(tmp_path):
    path = _sst2_dev(tmp_path, ["fine\t1", "a line with spaces instead of a tab 0", "x\t0"])
    with pytest.raises(DataError) as info:
        read_split(SST2, "validation", tmp_path)
    message = str(info.value)
    assert f"{path}:3:" in message
    assert "expected at least 2" in message and "found 1" in message


def test_short_line_in_headerless_file(tmp_path):
    path = _write(tmp_path / "glue/CoLA/dev.tsv", "s\t1\t\tok sentence\ns\t0\t\nother\t1\t\tx")
    with pytest.raises(DataError) as info:
        read_split(COLA, "validation", tmp_path)
    assert f"{path}:2:" in str(info.value) and "found 3" in str(info.value)


def test_label_outside_label_set(tmp_path):
    path = _sst2_dev(tmp_path, ["a\t1", "b\t0", "c\tpositive"])
    with pytest.raises(DataError) as info:
        read_split(SST2, "validation", tmp_path)
    message = str(info.value)
    assert f"{path}:4" in message
    assert "'positive'" in message
    assert "['0', '1']" in message
    assert "glue/sst2" in message


def test_header_missing_a_column(tmp_path):
    path = _write(tmp_path / "glue/MRPC/dev.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\tsecond\n1\t1\t2\ta\tb\n")
    with pytest.raises(DataError) as info:
        read_split(MRPC, "validation", tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "'#2 String'" in message and "text_pair" in message
    assert "second" in message  # the columns that are there


def test_empty_file_with_header_expected(tmp_path):
    path = _write(tmp_path / "glue/SST-2/dev.tsv", "")
    with pytest.raises(DataError, match="empty file") as info:
        read_split(SST2, "validation", tmp_path)
    assert str(path) in str(info.value)


def test_regression_score_not_a_number(glue_dir):
    path = glue_dir / "glue/STS-B/dev.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[5].split("\t")
    cells[-1] = "four"
    lines[5] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_split(STSB, "validation", glue_dir)
    assert f"{path}:6" in str(info.value)
    assert "'four'" in str(info.value) and "not a number" in str(info.value)


def test_not_utf8(tmp_path):
    (tmp_path / "glue/SST-2").mkdir(parents=True)
    (tmp_path / "glue/SST-2/dev.tsv").write_bytes(b"sentence\tlabel\ncaf\xe9\t1\n")
    with pytest.raises(DataError, match="UTF-8"):
        read_split(SST2, "validation", tmp_path)


def test_non_tsv_file_is_refused(tmp_path):
    spec = parse_task({"suite": "toy", "name": "j", "version": 1, "format": "n21", "kind": "classification",
                       "fields": {"text": "t", "label": "l"}, "labels": ["a", "b"], "metrics": ["accuracy"],
                       "main_score": "accuracy", "files": {"validation": "toy/dev.jsonl"}}, "toy.yaml")
    _write(tmp_path / "toy/dev.jsonl", "{}\n")
    with pytest.raises(DataError, match=r"\.jsonl"):
        read_split(spec, "validation", tmp_path)


def test_per_file_fields_override(tmp_path):
    spec = parse_task({"suite": "toy", "name": "o", "version": 1, "format": "n21", "kind": "classification",
                       "fields": {"text": "sentence", "label": "label"}, "labels": ["a", "b"],
                       "metrics": ["accuracy"], "main_score": "accuracy",
                       "files": {"validation": {"path": "toy/dev.tsv", "header": False,
                                                "fields": {"text": 1, "label": 0}}}}, "toy.yaml")
    _write(tmp_path / "toy/dev.tsv", "b\tfirst\na\tsecond\n")
    split = read_split(spec, "validation", tmp_path)
    assert [(ex["text"], ex["label"]) for ex in split.examples] == [("first", 1), ("second", 0)]


def test_encode_label_variants():
    assert encode_label(SST2, "1", "x") == 1
    assert encode_label(SST2, 0, "x") == 0  # the Hub gives indices
    assert encode_label(SST2, -1, "x") is None  # the Hub's unlabelled test rows
    assert encode_label(SST2, None, "x") is None
    assert encode_label(MNLI, "contradiction", "x") == 2
    assert encode_label(STSB, "3.25", "x") == 3.25
    assert encode_label(STSB, 4, "x") == 4.0
    with pytest.raises(DataError, match=r"hub row 7: label 2 "):
        encode_label(SST2, 2, "hub row 7")
    with pytest.raises(DataError, match="label True"):
        encode_label(SST2, True, "x")


# --- data dir ------------------------------------------------------------------------------------

def test_resolve_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    assert resolve_data_dir(None) is None
    assert resolve_data_dir(tmp_path) == tmp_path
    assert resolve_data_dir(str(tmp_path)) == tmp_path
    with pytest.raises(DataError) as info:
        resolve_data_dir(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value) and "--data-dir" in str(info.value)


def test_resolve_data_dir_from_env(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv("HARNESS_DATA_DIR", str(env_dir))
    assert resolve_data_dir(None) == env_dir
    assert resolve_data_dir(tmp_path) == tmp_path  # the flag wins over the environment
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="missing"):
        resolve_data_dir(None)


def test_resolve_data_dir_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "glue-data").mkdir()
    assert resolve_data_dir("~/glue-data") == tmp_path / "glue-data"


# --- split plans ---------------------------------------------------------------------------------

def _examples(labels, prefix="v") -> list[dict]:
    return [{"id": f"{prefix}{i}", "text": f"t{i}", "label": label} for i, label in enumerate(labels)]


def _validation_only(labels) -> dict:
    return {"train": None, "validation": DataSplit("validation", _examples(labels), {"kind": "file", "path": "dev"})}


MNLI_LABELS = [0] * 50 + [1] * 30 + [2] * 20  # 100 examples, 50/30/20


def _ids(examples) -> list[str]:
    return [ex["id"] for ex in examples]


def test_official_plan_with_train(glue_dir):
    splits = load_splits(SST2, glue_dir)
    plan = plan_splits(SST2, splits, "official", seed=1)
    assert plan.strategy == "official" and plan.note == ""
    assert len(plan.folds) == 1
    assert plan.folds[0].train == splits["train"].examples and len(plan.folds[0].train) == 64
    assert plan.folds[0].eval == splits["validation"].examples and len(plan.folds[0].eval) == 32
    assert set(plan.sources) == {"train", "validation"}
    assert plan.sources["train"]["path"] == "glue/SST-2/train.tsv"
    # where train exists, holdout/kfold are not needed and the official split is used
    assert plan_splits(SST2, splits, "holdout", seed=1).strategy == "official"


def test_official_plan_without_train_says_what_to_do(glue_dir):
    splits = load_splits(COLA, glue_dir)
    assert splits["train"] is None and len(splits["validation"]) == 40
    with pytest.raises(DataError) as info:
        plan_splits(COLA, splits, "official", seed=1)
    message = str(info.value)
    assert "glue/cola" in message and "--split-strategy holdout" in message and "train" in message


def test_plan_needs_labelled_validation(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        plan_splits(SST2, {"train": None, "validation": None}, "holdout", seed=1)
    unlabelled = DataSplit("validation", [{"id": "1", "text": "a", "label": None}])
    with pytest.raises(DataError, match="no labelled validation"):
        plan_splits(SST2, {"train": None, "validation": unlabelled}, "holdout", seed=1)


def test_unknown_strategy(glue_dir):
    with pytest.raises(ConfigError, match="'random'.*official, holdout, kfold"):
        plan_splits(SST2, load_splits(SST2, glue_dir), "random", seed=1)


def test_holdout_sizes_stratified_disjoint_complete():
    splits = _validation_only(MNLI_LABELS)
    plan = plan_splits(MNLI, splits, "holdout", seed=3)
    assert plan.strategy == "holdout" and "80%/20%" in plan.note
    assert len(plan.folds) == 1
    train, ev = plan.folds[0].train, plan.folds[0].eval
    assert len(train) == 80 and len(ev) == 20
    assert not set(_ids(train)) & set(_ids(ev))
    assert sorted(_ids(train) + _ids(ev)) == sorted(_ids(splits["validation"].examples))
    eval_counts = Counter(ex["label"] for ex in ev)
    train_counts = Counter(ex["label"] for ex in train)
    for label, total in Counter(MNLI_LABELS).items():
        assert abs(eval_counts[label] - total * 0.2) <= 1
        assert abs(train_counts[label] - total * 0.8) <= 1
    assert plan.sources == {"validation": {"kind": "file", "path": "dev"}}


def test_holdout_stratified_on_unbalanced_small_set():
    labels = [0] * 37 + [1] * 8  # 45 examples, minority 8
    plan = plan_splits(SST2, _validation_only(labels), "holdout", seed=0)
    ev = plan.folds[0].eval
    assert len(ev) == 9 and len(plan.folds[0].train) == 36
    assert abs(sum(ex["label"] for ex in ev) - 8 * 0.2) <= 1


def test_holdout_deterministic_per_seed():
    splits = _validation_only(MNLI_LABELS)
    a = plan_splits(MNLI, splits, "holdout", seed=7)
    b = plan_splits(MNLI, splits, "holdout", seed=7)
    c = plan_splits(MNLI, splits, "holdout", seed=8)
    assert _ids(a.folds[0].eval) == _ids(b.folds[0].eval)
    assert _ids(a.folds[0].train) == _ids(b.folds[0].train)
    assert set(_ids(a.folds[0].eval)) != set(_ids(c.folds[0].eval))


def test_kfold_partitions_validation():
    splits = _validation_only(MNLI_LABELS)
    plan = plan_splits(MNLI, splits, "kfold", seed=5)
    assert plan.strategy == "kfold" and "5-fold" in plan.note
    assert len(plan.folds) == 5
    all_ids = _ids(splits["validation"].examples)
    eval_ids = [i for fold in plan.folds for i in _ids(fold.eval)]
    assert sorted(eval_ids) == sorted(all_ids) and len(set(eval_ids)) == 100  # each example evaluated once
    for fold in plan.folds:
        assert len(fold.eval) == 20 and len(fold.train) == 80
        assert set(_ids(fold.train)) == set(all_ids) - set(_ids(fold.eval))
        counts = Counter(ex["label"] for ex in fold.eval)
        assert counts == Counter({0: 10, 1: 6, 2: 4})
    again = plan_splits(MNLI, splits, "kfold", seed=5)
    assert [_ids(f.eval) for f in again.folds] == [_ids(f.eval) for f in plan.folds]
    other = plan_splits(MNLI, splits, "kfold", seed=6)
    assert [set(_ids(f.eval)) for f in other.folds] != [set(_ids(f.eval)) for f in plan.folds]


def test_regression_holdout_is_stratified_by_quintile():
    import random

    rng = random.Random(0)
    scores = [round(rng.uniform(0, 5), 3) for _ in range(100)]
    splits = _validation_only(scores)
    ordered = sorted(scores)
    bins = [ordered[20 * k] for k in range(1, 5)]  # quintile edges

    def quintile(score):
        return sum(score >= edge for edge in bins)

    for seed in (0, 1, 2):
        plan = plan_splits(STSB, splits, "holdout", seed=seed)
        ev = plan.folds[0].eval
        assert len(ev) == 20 and len(plan.folds[0].train) == 80
        assert all(isinstance(ex["label"], float) for ex in ev)
        counts = Counter(quintile(ex["label"]) for ex in ev)
        assert all(abs(counts[q] - 4) <= 1 for q in range(5)), counts
    kfold = plan_splits(STSB, splits, "kfold", seed=0)
    assert len(kfold.folds) == 5
    assert sorted(i for f in kfold.folds for i in _ids(f.eval)) == sorted(_ids(splits["validation"].examples))


def test_regression_holdout_on_file_data(glue_dir):
    splits = {"train": None, "validation": read_split(STSB, "validation", glue_dir)}
    plan = plan_splits(STSB, splits, "holdout", seed=42)
    assert (len(plan.folds[0].train), len(plan.folds[0].eval)) == (25, 7)  # ceil(0.2 * 32) = 7


def test_holdout_from_cola_files(glue_dir):
    plan = plan_splits(COLA, load_splits(COLA, glue_dir), "holdout", seed=42)
    assert plan.strategy == "holdout"
    assert (len(plan.folds[0].train), len(plan.folds[0].eval)) == (32, 8)
    assert Counter(ex["label"] for ex in plan.folds[0].eval) == Counter({0: 4, 1: 4})


def test_caps_give_seeded_subsets(glue_dir):
    splits = load_splits(SST2, glue_dir)
    full_train, full_eval = splits["train"].examples, splits["validation"].examples
    plan = plan_splits(SST2, splits, "official", seed=1, max_train_samples=10, max_eval_samples=7)
    train, ev = plan.folds[0].train, plan.folds[0].eval
    assert len(train) == 10 and len(ev) == 7
    assert set(_ids(train)) <= set(_ids(full_train)) and set(_ids(ev)) <= set(_ids(full_eval))
    # kept in file order, not the head of the file
    assert _ids(train) == [i for i in _ids(full_train) if i in set(_ids(train))]
    assert _ids(train) != _ids(full_train[:10])
    same = plan_splits(SST2, splits, "official", seed=1, max_train_samples=10, max_eval_samples=7)
    assert _ids(same.folds[0].train) == _ids(train) and _ids(same.folds[0].eval) == _ids(ev)
    other = plan_splits(SST2, splits, "official", seed=2, max_train_samples=10, max_eval_samples=7)
    assert set(_ids(other.folds[0].train)) != set(_ids(train))


def test_caps_above_size_keep_everything(glue_dir):
    splits = load_splits(SST2, glue_dir)
    plan = plan_splits(SST2, splits, "official", seed=1, max_train_samples=1000, max_eval_samples=32)
    assert plan.folds[0].train == splits["train"].examples
    assert plan.folds[0].eval == splits["validation"].examples


def test_caps_apply_to_every_kfold_fold():
    plan = plan_splits(MNLI, _validation_only(MNLI_LABELS), "kfold", seed=1, max_train_samples=30,
                       max_eval_samples=5)
    assert [(len(f.train), len(f.eval)) for f in plan.folds] == [(30, 5)] * 5
    for fold in plan.folds:
        assert not set(_ids(fold.train)) & set(_ids(fold.eval))


def test_eval_only_plan():
    examples = _examples([0, 1, 2] * 10)
    splits = {"validation": DataSplit("validation", examples, {"kind": "file", "path": "diag.tsv"})}
    plan = eval_only_plan(AX, splits, None, seed=0)
    assert plan.strategy == "official"
    assert len(plan.folds) == 1 and plan.folds[0].train == [] and plan.folds[0].eval == examples
    assert "glue/mnli" in plan.note
    assert plan.sources == {"validation": {"kind": "file", "path": "diag.tsv"}}
    capped = eval_only_plan(AX, splits, 12, seed=0)
    assert len(capped.folds[0].eval) == 12
    assert _ids(capped.folds[0].eval) == _ids(eval_only_plan(AX, splits, 12, seed=0).folds[0].eval)
    with pytest.raises(DataError, match="glue/ax"):
        eval_only_plan(AX, {"validation": None}, None, seed=0)


@pytest.mark.parametrize("task, labels", [
    (SST2, [0] * 20 + [1]),  # a class with one example
    (SST2, [0, 1, 0, 1]),  # 20% of 4 is 1 example, fewer than the 2 classes
    (STSB, [0.0] * 40 + [1.0] + [5.0] * 59),  # tied scores leave one example alone in its quintile
], ids=["singleton-class", "tiny-validation", "regression-lone-quintile"])
def test_holdout_that_cannot_be_stratified_is_a_harness_error(task, labels):
    try:
        plan = plan_splits(task, _validation_only(labels), "holdout", seed=1)
    except DataError:
        return  # a clear DataError is acceptable
    assert len(plan.folds[0].train) + len(plan.folds[0].eval) == len(labels)
