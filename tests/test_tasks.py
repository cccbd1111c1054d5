"""Task YAMLs and the lazy registry: parsing, validation messages, name resolution."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import HarnessError, TaskError
from harness.tasks import FORMATS, KINDS, REGISTRY, TASKS_DIR, FileSplit, TaskRegistry, parse_task

GLUE_YAMLS = sorted((TASKS_DIR / "glue").glob("*.yaml"))
GLUE_NAMES = {"ax", "cola", "mnli", "mnli_mismatched", "mrpc", "qnli", "qqp", "rte", "sst2", "stsb", "wnli"}


def _raw(**changes) -> dict:
    raw = {
        "suite": "toy",
        "name": "pairs",
        "version": 2,
        "format": "n21",
        "kind": "classification",
        "fields": {"text": "a", "text_pair": "b", "label": "y"},
        "labels": ["no", "yes"],
        "metrics": ["accuracy", "f1"],
        "main_score": ["accuracy", "f1"],
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def _write_task(root: Path, suite: str, name: str, **changes) -> Path:
    path = root / suite / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(_raw(suite=suite, name=name, **changes)), encoding="utf-8")
    return path


# --- the shipped GLUE task files ------------------------------------------------------------------

def test_all_glue_tasks_are_present():
    assert {p.stem for p in GLUE_YAMLS} == GLUE_NAMES
    assert set(REGISTRY.names("glue")) == {f"glue/{n}" for n in GLUE_NAMES}
    assert "glue" in REGISTRY.suites()


@pytest.mark.parametrize("path", GLUE_YAMLS, ids=lambda p: p.stem)
def test_glue_yaml_parses_and_is_consistent(path):
    spec = parse_task(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    assert spec.suite == "glue"
    assert spec.name == path.stem
    assert spec.id == f"glue/{path.stem}"
    assert spec.source == str(path)
    assert isinstance(spec.version, int) and spec.version >= 1
    assert spec.formats and set(spec.formats) <= set(FORMATS)
    assert spec.kind in KINDS
    assert spec.main_score and set(spec.main_score) <= set(spec.metrics)
    assert {"text", "label"} <= set(spec.fields)
    assert {"text", "label"} <= set(spec.hub_fields)
    assert "validation" in spec.files and all(isinstance(f, FileSplit) for f in spec.files.values())
    if spec.kind == "classification":
        assert len(spec.labels) >= 2
        assert len(set(spec.labels)) == len(spec.labels)
        assert spec.num_labels == len(spec.labels)
    else:
        assert spec.num_labels == 1


def test_glue_specific_definitions():
    mrpc, stsb, cola, ax = (REGISTRY.get(n) for n in ("mrpc", "stsb", "cola", "ax"))
    assert mrpc.main_score == ("accuracy", "f1")
    assert mrpc.files["validation"] == FileSplit("glue/MRPC/dev.tsv", True, None)
    assert stsb.kind == "regression" and stsb.labels == () and stsb.similarity
    assert stsb.main_score == ("pearson", "spearman")
    assert cola.files["validation"].header is False
    assert cola.fields == {"text": 3, "label": 1}
    assert cola.labels == ("0", "1")
    assert ax.in_suite_score is False and ax.model_from == "glue/mnli"
    assert REGISTRY.get("mnli").score_group == REGISTRY.get("mnli_mismatched").score_group == "mnli"
    # the tasks that are not diagnostics count in the suite score
    assert [s.name for s in REGISTRY.select(suite="glue") if not s.in_suite_score] == ["ax"]


# --- resolve / select ----------------------------------------------------------------------------

def test_resolve_full_and_bare_names():
    assert REGISTRY.resolve("glue/sst2") == "glue/sst2"
    assert REGISTRY.resolve("sst2") == "glue/sst2"
    assert REGISTRY.resolve("mnli_mismatched") == "glue/mnli_mismatched"
    assert REGISTRY.get("sst2") is REGISTRY.get("glue/sst2")


@pytest.mark.parametrize("name", ["sst3", "glue/sst3", "superglue/sst2", "", "glue/"])
def test_resolve_unknown_points_to_list_tasks(name):
    with pytest.raises(TaskError) as info:
        REGISTRY.resolve(name)
    assert "harness list tasks" in str(info.value)
    assert repr(name) in str(info.value)
    assert isinstance(info.value, HarnessError)


def test_resolve_ambiguous_bare_name_lists_both(tmp_path):
    _write_task(tmp_path, "alpha", "rte")
    _write_task(tmp_path, "beta", "rte")
    _write_task(tmp_path, "beta", "only")
    registry = TaskRegistry(tmp_path)
    with pytest.raises(TaskError) as info:
        registry.resolve("rte")
    message = str(info.value)
    assert "ambiguous" in message
    assert "alpha/rte" in message and "beta/rte" in message
    assert registry.resolve("alpha/rte") == "alpha/rte"
    assert registry.resolve("only") == "beta/only"
    assert registry.get("beta/rte").suite == "beta"


def test_select_suite_and_tasks(tmp_path):
    _write_task(tmp_path, "alpha", "one")
    _write_task(tmp_path, "alpha", "two")
    _write_task(tmp_path, "beta", "three")
    registry = TaskRegistry(tmp_path)
    assert registry.suites() == ["alpha", "beta"]
    assert [s.id for s in registry.select(suite="alpha")] == ["alpha/one", "alpha/two"]
    # bare and full names, duplicates collapse, order of the request is kept
    assert [s.id for s in registry.select(tasks=["three", "alpha/one", "one"])] == ["beta/three", "alpha/one"]
    assert len(registry.select()) == 3


def test_select_unknown_suite(tmp_path):
    _write_task(tmp_path, "alpha", "one")
    with pytest.raises(TaskError) as info:
        TaskRegistry(tmp_path).select(suite="gamma")
    assert "'gamma'" in str(info.value) and "alpha" in str(info.value)
    with pytest.raises(TaskError, match="unknown suite 'superglu'.*glue"):
        REGISTRY.select(suite="superglu")


def test_select_unknown_task_in_list():
    with pytest.raises(TaskError, match="harness list tasks"):
        REGISTRY.select(tasks=["sst2", "nope"])


# --- parse_task validation -----------------------------------------------------------------------

def test_parse_task_valid_minimal():
    spec = parse_task(_raw(format=["n21", "n2m"], main_score="accuracy", hub_fields=None), "toy.yaml")
    assert spec.formats == ("n21", "n2m")
    assert spec.main_score == ("accuracy",)
    assert spec.version == 2
    assert spec.hub_fields == spec.fields  # defaults to the file fields
    assert spec.labels == ("no", "yes") and spec.num_labels == 2
    assert spec.in_suite_score is True and spec.score_group is None and spec.files == {}


def test_parse_task_files_string_and_mapping():
    spec = parse_task(_raw(files={"train": "t/train.tsv",
                                  "validation": {"path": "t/dev.tsv", "header": False, "fields": {"text": 0}}}), "x")
    assert spec.files["train"] == FileSplit("t/train.tsv", True, None)
    assert spec.files["validation"] == FileSplit("t/dev.tsv", False, {"text": 0})


def test_parse_task_labels_become_strings():
    spec = parse_task(_raw(labels=[0, 1]), "x.yaml")
    assert spec.labels == ("0", "1")


@pytest.mark.parametrize("missing", ["suite", "name", "version", "format", "kind", "fields", "metrics", "main_score"])
def test_parse_task_missing_field_names_file_and_field(missing):
    raw = _raw()
    del raw[missing]
    with pytest.raises(TaskError) as info:
        parse_task(raw, "tasks/toy/pairs.yaml")
    message = str(info.value)
    assert message.startswith("tasks/toy/pairs.yaml:")
    assert "missing" in message and missing in message


def test_parse_task_lists_every_missing_field():
    raw = _raw()
    del raw["kind"], raw["metrics"]
    with pytest.raises(TaskError, match=r"tasks/x\.yaml: missing field\(s\) kind, metrics"):
        parse_task(raw, "tasks/x.yaml")


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"format": "n99"}, ["format", "'n99'", "n21"]),
        ({"format": ["n21", "seq"]}, ["format", "'seq'"]),
        ({"kind": "ranking"}, ["kind", "'ranking'", "classification", "regression"]),
        ({"labels": None}, ["labels"]),
        ({"labels": []}, ["labels"]),
        ({"main_score": "mcc"}, ["main_score", "'mcc'", "metrics"]),
        ({"main_score": ["accuracy", "pearson"]}, ["main_score", "'pearson'"]),
    ],
)
def test_parse_task_bad_values_name_file_and_field(changes, words):
    with pytest.raises(TaskError) as info:
        parse_task(_raw(**changes), "/some/where/task.yaml")
    message = str(info.value)
    assert message.startswith("/some/where/task.yaml:")
    for word in words:
        assert word in message


def test_parse_task_not_a_mapping():
    with pytest.raises(TaskError, match=r"^list\.yaml: .*mapping"):
        parse_task(["suite", "name"], "list.yaml")


def test_regression_needs_no_labels():
    spec = parse_task(_raw(kind="regression", labels=None, metrics=["pearson"], main_score="pearson"), "r.yaml")
    assert spec.num_labels == 1 and spec.labels == ()


# --- laziness -------------------------------------------------------------------------------------

def test_names_do_not_parse_files(tmp_path):
    good = _write_task(tmp_path, "alpha", "good")
    broken = tmp_path / "alpha" / "broken.yaml"
    broken.write_text("suite: alpha\nname: [unclosed\n  : : :\n", encoding="utf-8")
    registry = TaskRegistry(tmp_path)
    assert registry.names() == ["alpha/broken", "alpha/good"]  # no error: nothing is parsed
    assert registry.names("alpha") == ["alpha/broken", "alpha/good"]
    assert registry.names("beta") == []
    assert registry.resolve("broken") == "alpha/broken"
    assert registry.get("good").source == str(good)
    with pytest.raises(TaskError) as info:
        registry.get("broken")
    assert str(broken) in str(info.value)
    assert "YAML" in str(info.value)


def test_get_of_invalid_task_names_the_file(tmp_path):
    path = _write_task(tmp_path, "alpha", "nokind", kind=None)
    registry = TaskRegistry(tmp_path)
    assert registry.names() == ["alpha/nokind"]
    with pytest.raises(TaskError) as info:
        registry.get("nokind")
    assert str(path) in str(info.value) and "kind" in str(info.value)


def test_empty_yaml_is_a_task_error(tmp_path):
    path = tmp_path / "alpha" / "empty.yaml"
    path.parent.mkdir()
    path.write_text("", encoding="utf-8")
    with pytest.raises(TaskError, match="mapping") as info:
        TaskRegistry(tmp_path).get("empty")
    assert str(path) in str(info.value)


def test_empty_registry(tmp_path):
    registry = TaskRegistry(tmp_path)
    assert registry.names() == [] and registry.suites() == [] and registry.select() == []


# --- validation gaps (bugs: these raise raw Python errors or accept garbage) ----------------------

def test_files_entry_without_path_is_a_task_error():
    with pytest.raises(TaskError) as info:
        parse_task(_raw(files={"train": {"header": False}}), "tasks/toy/pairs.yaml")
    assert "tasks/toy/pairs.yaml" in str(info.value) and "path" in str(info.value)


def test_non_integer_version_is_a_task_error():
    with pytest.raises(TaskError) as info:
        parse_task(_raw(version="one"), "tasks/toy/pairs.yaml")
    assert "tasks/toy/pairs.yaml" in str(info.value) and "version" in str(info.value)


def test_misspelt_metric_fails_at_load_naming_the_file_and_the_known_metrics(tmp_path):
    path = _write_task(tmp_path, "toy", "pairs", metrics=["accuracy", "f1_macro"], main_score=["accuracy"])
    with pytest.raises(TaskError) as info:
        TaskRegistry(tmp_path).get("toy/pairs")  # loading the task, before any data or model is touched
    message = str(info.value)
    assert str(path) in message and "'f1_macro'" in message
    assert "macro_f1" in message and "bleu" in message  # the known ones: the registry and the generation metrics


def test_scalar_metrics_is_normalised_or_rejected():
    try:
        spec = parse_task(_raw(metrics="accuracy", main_score="accuracy"), "tasks/toy/pairs.yaml")
    except TaskError:
        return  # rejecting it with a message is fine too
    assert spec.metrics == ("accuracy",)


def test_listing_parses_nothing(monkeypatch):
    import harness.tasks as tasks_module

    def no_parsing(*args, **kwargs):
        raise AssertionError("a YAML file was parsed")

    monkeypatch.setattr(tasks_module.yaml, "safe_load", no_parsing)
    registry = TaskRegistry()  # a fresh registry: nothing indexed yet
    assert len(registry.names()) >= 11 and "glue" in registry.suites()
    assert registry.resolve("qnli") == "glue/qnli"


# --- score ranges and unreadable task files (issue 13) --------------------------------------------

def test_regression_range_is_read_and_checked():
    spec = parse_task(_raw(kind="regression", labels=None, metrics=["pearson"], main_score="pearson", range=[0, 5]),
                      "r.yaml")
    assert spec.score_range == (0.0, 5.0)
    assert REGISTRY.get("glue/stsb").score_range == (0.0, 5.0) and REGISTRY.get("klue/sts").score_range == (0.0, 5.0)
    assert parse_task(_raw(kind="regression", labels=None, metrics=["pearson"], main_score="pearson"),
                      "r.yaml").score_range is None


@pytest.mark.parametrize("bounds, words", [
    ([5, 0], "low < high"), ([0], "[low, high]"), ("0..5", "[low, high]"), ([0, ".inf"], "finite"),
    ([0, float("nan")], "finite"), ([False, True], "two finite numbers"),
])
def test_a_bad_range_names_the_file(bounds, words):
    with pytest.raises(TaskError) as info:
        parse_task(_raw(kind="regression", labels=None, metrics=["pearson"], main_score="pearson", range=bounds),
                   "tasks/toy/r.yaml")
    assert str(info.value).startswith("tasks/toy/r.yaml: range") and words in str(info.value)


def test_range_is_for_regressions_only():
    with pytest.raises(TaskError, match="range applies to regression tasks only"):
        parse_task(_raw(range=[0, 1]), "tasks/toy/pairs.yaml")


@pytest.mark.parametrize("text, words", [
    ("suite: a\nname: !!python/object/apply:os.system ['true']\n", "python/object"),
    ("suite: a\nname: [unclosed\n  : : :\n", "not valid YAML"),
    ("suite: a\n\tname: tab\n", "not valid YAML"),
])
def test_a_task_file_that_does_not_load_is_one_line_with_its_position(tmp_path, text, words):
    path = tmp_path / "alpha" / "bad.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaskError) as info:
        TaskRegistry(tmp_path).get("bad")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:") and words in message


def test_a_task_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "alpha" / "latin.yaml"
    path.parent.mkdir()
    path.write_bytes(b"suite: alpha\nname: caf\xe9\n")
    with pytest.raises(TaskError, match="UTF-8") as info:
        TaskRegistry(tmp_path).get("latin")
    assert str(path) in str(info.value)


def test_fields_must_be_a_mapping():
    with pytest.raises(TaskError, match="fields must map"):
        parse_task(_raw(fields=["text", "label"]), "tasks/toy/pairs.yaml")


def test_load_all_keeps_the_tasks_that_load_and_the_errors_of_the_others(tmp_path):
    _write_task(tmp_path, "alpha", "good")
    _write_task(tmp_path, "beta", "other")
    (tmp_path / "alpha" / "evil.yaml").write_text("name: !!python/name:os.system\n", encoding="utf-8")
    registry = TaskRegistry(tmp_path)
    specs, errors = registry.load_all()
    assert [s.id for s in specs] == ["alpha/good", "beta/other"]
    assert len(errors) == 1 and str(errors[0]).startswith(str(tmp_path / "alpha" / "evil.yaml"))
    assert [s.id for s in registry.load_all("beta")[0]] == ["beta/other"] and not registry.load_all("beta")[1]
    with pytest.raises(TaskError, match="unknown suite 'gamma'"):
        registry.load_all("gamma")
