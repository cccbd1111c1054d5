"""Results prove themselves: every renderer recomputes a result's scores from the predictions beside it and
refuses, in one line naming the file, one whose scores, row count or folder disagree (issue 26, items 1-4)."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from harness import evaluate
from harness.cli import main
from harness.errors import DataError
from harness.export import export
from harness.leaderboard import render_leaderboards
from harness.metrics import compute_scores, main_score
from harness.report import render_report
from harness.results import RESULT_FILE, ResultSet, RunResult, run_dir, write_run
from harness.runners.features import FeatureCache
from harness.tasks import REGISTRY

LABELS = [i % 2 for i in range(40)]


def _write(root: Path, task: str = "mrpc", mode: str = "frozen", seed: int = 42, wrong: int = 8,
           folds: int = 1) -> Path:
    """A result scored as harness scores it from the rows written beside it (under k-fold, the folds' mean)."""
    spec = REGISTRY.get(f"glue/{task}")
    predicted = [1 - label if i < wrong else label for i, label in enumerate(LABELS)]
    rows = [{"id": f"dev:{i:03d}", "fold": i % folds, "label": LABELS[i], "prediction": predicted[i]}
            for i in range(len(LABELS))]
    per_fold = [compute_scores(list(spec.metrics), [r["prediction"] for r in rows if r["fold"] == f],
                               [r["label"] for r in rows if r["fold"] == f]) for f in range(folds)]
    scores = {name: sum(s[name] for s in per_fold) / folds for name in spec.metrics}
    result = RunResult(suite="glue", task=task, task_version=1, model="m", mode=mode, seed=seed, scores=scores,
                       main_score=main_score(scores, spec.main_score),
                       split_strategy="kfold" if folds > 1 else "official", num_train=100, num_eval=len(rows),
                       provenance={"hyperparameters": {"epochs": 3.0}}, timings={"total_s": 1.0})
    folder = run_dir(root, "m", "glue", task, mode, seed)
    write_run(folder, result, rows)
    return folder


@pytest.fixture
def reports(tmp_path) -> Path:
    root = tmp_path / "reports"
    _write(root, "mrpc", "frozen", wrong=8)
    _write(root, "mrpc", "finetune", wrong=4)
    _write(root, "sst2", "frozen", wrong=10)
    return root


def _renderers(root: Path, folder: Path):
    return {"leaderboard": lambda: render_leaderboards(root, resamples=50),
            "report": lambda: render_report(folder, resamples=50),
            "export": lambda: export(root, "csv")}


def _refused_everywhere(root: Path, folder: Path, says: str) -> None:
    for name, render in _renderers(root, folder).items():
        with pytest.raises(DataError, match=says) as refused:
            render()
        assert str(folder / RESULT_FILE) in str(refused.value) and "\n" not in str(refused.value), name


def _edit(folder: Path, **fields) -> None:
    path = folder / RESULT_FILE
    raw = json.loads(path.read_text())
    for name, value in fields.items():
        if isinstance(value, dict):
            raw[name] = {**raw[name], **value}
        else:
            raw[name] = value
    path.write_text(json.dumps(raw))


def test_untouched_results_render_everywhere(reports):
    folder = run_dir(reports, "m", "glue", "mrpc", "frozen", 42)
    for render in _renderers(reports, folder).values():
        render()


def test_a_k_fold_result_recorded_as_its_folds_mean_is_accepted(tmp_path):
    folder = _write(tmp_path / "r", "mrpc", folds=5, wrong=13)  # fold scores differ, so the pooled score would too
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    pooled = compute_scores(["f1"], [r["prediction"] for r in rows], [r["label"] for r in rows])["f1"]
    assert pooled != pytest.approx(json.loads((folder / RESULT_FILE).read_text())["scores"]["f1"], rel=1e-6)
    ResultSet.of_run(folder)
    render_leaderboards(tmp_path / "r", resamples=50)


def test_an_edited_main_score_is_refused_with_the_file_named(reports, capsys):
    folder = run_dir(reports, "m", "glue", "mrpc", "frozen", 42)
    _edit(folder, main_score=99.0)
    _refused_everywhere(reports, folder, "main_score is recorded as 99.0000 but its main metrics' mean gives")
    assert main(["leaderboard", str(reports), "--out", str(reports.parent / "boards")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"harness: error: {folder / RESULT_FILE}: main_score")


def test_scores_edited_together_with_their_main_score_are_refused(reports):
    folder = run_dir(reports, "m", "glue", "mrpc", "frozen", 42)
    _edit(folder, scores={"accuracy": 90.0, "f1": 90.0}, main_score=90.0)
    _refused_everywhere(reports, folder, "accuracy is recorded as 90.0000 but what predictions.jsonl scores gives 80")


def test_predictions_cut_to_half_are_refused(reports):
    folder = run_dir(reports, "m", "glue", "mrpc", "finetune", 42)
    lines = (folder / "predictions.jsonl").read_text().splitlines(keepends=True)
    (folder / "predictions.jsonl").write_text("".join(lines[:len(lines) // 2]))
    _refused_everywhere(reports, folder, "records 40 evaluation examples but predictions.jsonl holds 20 rows")


def test_predictions_cut_mid_line_are_refused(reports):
    folder = run_dir(reports, "m", "glue", "mrpc", "finetune", 42)
    text = (folder / "predictions.jsonl").read_text()
    (folder / "predictions.jsonl").write_text(text[:len(text) // 2 + 7])  # within a line
    _refused_everywhere(reports, folder, "its predictions do not read back whole")


def test_a_copied_run_folder_is_refused_naming_both_files(reports):
    original = run_dir(reports, "m", "glue", "mrpc", "frozen", 42)
    copy = reports / "old" / "m" / "glue" / "mrpc" / "frozen-seed42"
    shutil.copytree(original, copy)
    for render in (lambda: render_leaderboards(reports, resamples=50), lambda: export(reports, "csv")):
        with pytest.raises(DataError, match="are results of one run") as refused:
            render()
        assert str(original / RESULT_FILE) in str(refused.value) and str(copy / RESULT_FILE) in str(refused.value)


def test_a_result_moved_into_another_tasks_folder_is_refused(reports):
    source = run_dir(reports, "m", "glue", "sst2", "frozen", 42)
    target = run_dir(reports, "m", "glue", "rte", "frozen", 42)
    shutil.move(source, target)
    _refused_everywhere(reports, target, "the result is of glue/sst2 frozen seed 42 but lies in glue/rte/frozen-seed42")


def test_a_result_moved_to_another_seed_is_refused(reports):
    source = run_dir(reports, "m", "glue", "sst2", "frozen", 42)
    target = run_dir(reports, "m", "glue", "sst2", "frozen", 7)
    shutil.move(source, target)
    _refused_everywhere(reports, target, "lies in glue/sst2/frozen-seed7")


@pytest.mark.parametrize("trial", range(12))
def test_property_any_hand_changed_number_or_cut_predictions_are_refused(reports, trial):
    """Any recorded score or main score moved by at least 0.01, or any number of prediction rows dropped: refused
    by the leaderboard, the report and the export."""
    rng = random.Random(trial)
    task = rng.choice(["mrpc", "sst2"])
    folder = run_dir(reports, "m", "glue", task, rng.choice(["frozen", "finetune"]) if task == "mrpc" else "frozen", 42)
    raw = json.loads((folder / RESULT_FILE).read_text())
    if trial % 3 == 2:  # cut predictions: any number of rows, anywhere
        lines = (folder / "predictions.jsonl").read_text().splitlines(keepends=True)
        kept = sorted(rng.sample(range(len(lines)), rng.randint(1, len(lines) - 1)))
        (folder / "predictions.jsonl").write_text("".join(lines[i] for i in kept))
        says = "evaluation examples but predictions.jsonl holds"
    else:
        field = rng.choice([*raw["scores"], "main_score"])
        delta = rng.choice([-1, 1]) * rng.uniform(0.01, 50)
        if field == "main_score":
            _edit(folder, main_score=raw["main_score"] + delta)
        else:
            _edit(folder, scores={field: raw["scores"][field] + delta})
        says = "is recorded as"
    _refused_everywhere(reports, folder, says)


def test_resume_reruns_a_unit_whose_predictions_do_not_read_back_whole(tiny_model_dir, glue_dir, tmp_path, caplog):
    run = dict(tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path / "r",
               cache=FeatureCache(tmp_path / "cache"), quiet=True, max_train_samples=32, max_eval_samples=16)
    (first,) = evaluate(str(tiny_model_dir), **run).results
    folder = next((tmp_path / "r").rglob("frozen-seed42"))
    whole = (folder / "predictions.jsonl").read_text()
    lines = whole.splitlines(keepends=True)
    (folder / "predictions.jsonl").write_text("".join(lines[:len(lines) // 2]))
    with caplog.at_level("WARNING", logger="harness"):
        (again,) = evaluate(str(tiny_model_dir), resume=True, **run).results
    assert "glue/sst2 frozen: running again (--resume)" in caplog.text and "holds 8 rows where 16" in caplog.text
    assert (folder / "predictions.jsonl").read_text() == whole and again.scores == first.scores
    ResultSet.of_run(folder)
