"""Leaderboards from a reports tree: cell values, suite scores, footnote marks, determinism, bad files."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import DataError
from harness.leaderboard import load_results, results_frame, suite_scores, write_leaderboards
from harness.results import RESULT_FILE, RunResult, run_dir, write_run
from harness.tasks import REGISTRY

FROZEN_PARAMS, TUNED_PARAMS = 1538, 109_483_778

# (model, task, mode, seed, main score, split strategy, capped)
RUNS = [
    ("alpha", "sst2", "frozen", 42, 80.0, "official", False),
    ("alpha", "sst2", "finetune", 42, 90.0, "official", False),
    ("alpha", "mrpc", "frozen", 42, 70.0, "holdout", False),
    ("alpha", "mrpc", "finetune", 42, 85.5, "official", False),
    ("alpha", "stsb", "frozen", 42, 61.0, "official", False),
    ("alpha", "stsb", "finetune", 42, 88.0, "official", True),
    ("alpha", "mnli", "frozen", 42, 65.0, "official", False),
    ("alpha", "mnli", "finetune", 42, 84.0, "official", False),
    ("alpha", "mnli_mismatched", "frozen", 42, 67.0, "official", False),
    ("alpha", "mnli_mismatched", "finetune", 42, 83.0, "official", False),
    ("alpha", "ax", "frozen", 42, 20.0, "official", False),
    ("alpha", "ax", "finetune", 42, 40.0, "official", False),
    ("beta", "sst2", "frozen", 42, 85.0, "official", False),
    ("beta", "sst2", "finetune", 1, 92.0, "official", False),
    ("beta", "sst2", "finetune", 2, 93.0, "official", False),
    ("beta", "mrpc", "frozen", 42, 72.0, "official", False),
    ("beta", "mrpc", "finetune", 42, 86.0, "official", False),
    ("beta", "stsb", "frozen", 42, 70.0, "official", False),
    ("beta", "mnli", "frozen", 42, 70.0, "official", False),
    ("beta", "mnli", "finetune", 42, 86.0, "official", False),
    ("beta", "mnli_mismatched", "frozen", 42, 72.0, "official", False),
    ("beta", "mnli_mismatched", "finetune", 42, 85.0, "official", False),
]

# Suite scores by hand: mnli and mnli_mismatched averaged first, ax left out.
#   alpha frozen   (80 + 70 + 61 + (65 + 67)/2) / 4        = 277 / 4 = 69.25
#   alpha finetune (90 + 85.5 + 88 + (84 + 83)/2) / 4      = 347 / 4 = 86.75
#   beta frozen    (85 + 72 + 70 + (70 + 72)/2) / 4        = 298 / 4 = 74.50
#   beta finetune  ((92 + 93)/2 + 86 + (86 + 85)/2) / 3    = 264 / 3 = 88.00  (no stsb fine-tuning run)
ALPHA_ROW = ("| `alpha` | 20.00 / 40.00 (+20.00) | 65.00 / 84.00 (+19.00) | 67.00 / 83.00 (+16.00) "
             "| 70.00 / 85.50 (+15.50) | 80.00 / 90.00 (+10.00) | 61.00 / 88.00 (+27.00) "
             "| 69.25 | 86.75 | +17.50 | 1,538 / 109,483,778 | 60 / 600 |")
BETA_ROW = ("| `beta` | – / – (–) | 70.00 / 86.00 (+16.00) | 72.00 / 85.00 (+13.00) "
            "| 72.00 / 86.00 (+14.00) | 85.00 / 92.50 (+7.50) | 70.00 / – (–) "
            "| 74.50 | 88.00 | +13.50 | 1,538 / 109,483,778 | 50 / 500 |")
HEADER = ("| model | ax | mnli | mnli_mismatched | mrpc † | sst2 | stsb ‡ | GLUE frozen | GLUE fine-tuned | Δ "
          "| trainable params (frozen / fine-tuned) | wall time s (frozen / fine-tuned) |")


def make_result(model, task, mode, seed, score, strategy="official", capped=False, suite="glue") -> RunResult:
    return RunResult(
        suite=suite, task=task, task_version=1, model=model, mode=mode, seed=seed,
        scores={"accuracy": score}, main_score=score, split_strategy=strategy,
        num_train=0 if task in ("ax", "mnli_mismatched") else 100, num_eval=50,
        provenance={"hyperparameters": {"epochs": 3.0}},
        timings={"total_s": 10.0 if mode == "frozen" else 100.0,
                 "trainable_parameters": FROZEN_PARAMS if mode == "frozen" else TUNED_PARAMS},
        split_note="train missing" if strategy != "official" else "",
        capped={"max_train_samples": 64} if capped else {},
    )


def write_reports(root: Path, runs=RUNS) -> Path:
    for model, task, mode, seed, score, strategy, capped in runs:
        result = make_result(model, task, mode, seed, score, strategy, capped)
        write_run(run_dir(root, model, result.suite, task, mode, seed), result, [{"id": "x", "prediction": 0}])
    return root


@pytest.fixture
def reports(tmp_path) -> Path:
    return write_reports(tmp_path / "reports")


def _board(reports: Path, out: Path) -> str:
    written = write_leaderboards(reports, out)
    assert written == [out / "glue.md"]
    return (out / "glue.md").read_text(encoding="utf-8")


def test_glue_leaderboard_cells_and_suite_scores(reports, tmp_path):
    text = _board(reports, tmp_path / "boards")
    lines = text.splitlines()
    assert lines[0] == "# GLUE leaderboard"
    assert HEADER in lines
    table_start = lines.index(HEADER)
    assert lines[table_start + 1] == "|" + "|".join(["---"] * 12) + "|"
    assert lines[table_start + 2] == ALPHA_ROW
    assert lines[table_start + 3] == BETA_ROW
    assert lines[table_start + 4] == ""


def test_footnotes_are_explained(reports, tmp_path):
    text = _board(reports, tmp_path / "boards")
    notes = text.split("## Notes", 1)[1]
    assert "† the train split was missing" in notes
    assert "‡ sample caps" in notes
    assert "sst2 †" not in text and "sst2 ‡" not in text and "ax †" not in text


def test_both_marks_on_one_task(tmp_path):
    runs = [("m", "rte", "frozen", 1, 60.0, "kfold", False), ("m", "rte", "finetune", 1, 70.0, "official", True)]
    text = _board(write_reports(tmp_path / "r", runs), tmp_path / "b")
    assert "| model | rte † ‡ | GLUE frozen |" in text
    assert "| `m` | 60.00 / 70.00 (+10.00) | 60.00 | 70.00 | +10.00 |" in text


def test_runs_section_lists_every_result(reports, tmp_path):
    text = _board(reports, tmp_path / "boards")
    runs = text.split("## Runs", 1)[1].split("## Notes", 1)[0]
    rows = [line for line in runs.splitlines() if line.startswith("| `")]
    assert len(rows) == len(RUNS)
    assert rows[0] == "| `alpha` | ax | finetune | 42 | 40.00 | accuracy 40.00 | official | 0 | 50 | 3.0 | 109,483,778 | 100.0 |"
    assert "| `alpha` | mrpc | frozen | 42 | 70.00 | accuracy 70.00 | holdout | 100 | 50 | – | 1,538 | 10.0 |" in rows
    beta_sst2 = [r for r in rows if r.startswith("| `beta` | sst2 | finetune")]
    assert [r.split(" | ")[3] for r in beta_sst2] == ["1", "2"]


def test_suite_scores_function(reports):
    results, problems = load_results(reports)
    assert problems == [] and len(results) == len(RUNS)
    scores = suite_scores(results_frame(results), REGISTRY)
    assert scores.to_dict() == pytest.approx({("alpha", "finetune"): 86.75, ("alpha", "frozen"): 69.25,
                                              ("beta", "finetune"): 88.0, ("beta", "frozen"): 74.5})


def test_regeneration_is_byte_identical(reports, tmp_path):
    first = (write_leaderboards(reports, tmp_path / "one")[0]).read_bytes()
    second = (write_leaderboards(reports, tmp_path / "one")[0]).read_bytes()
    assert first == second
    # the same results written in another order give the same file
    shuffled = write_reports(tmp_path / "shuffled", list(reversed(RUNS)))
    assert (write_leaderboards(shuffled, tmp_path / "two")[0]).read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["glue.md"]  # no temp files left


def test_bad_files_are_skipped(reports, tmp_path):
    clean = _board(reports, tmp_path / "clean")
    truncated = reports / "gamma" / "glue" / "sst2" / "frozen-seed42" / RESULT_FILE
    write_run(truncated.parent, make_result("gamma", "sst2", "frozen", 42, 99.0), [])
    text = truncated.read_text(encoding="utf-8")
    truncated.write_text(text[:100], encoding="utf-8")
    foreign = reports / "delta" / RESULT_FILE
    foreign.parent.mkdir()
    foreign.write_text('{"foo": 1}', encoding="utf-8")
    results, problems = load_results(reports)
    assert len(results) == len(RUNS)
    assert len(problems) == 2
    assert any(str(truncated) in p for p in problems) and any(str(foreign) in p for p in problems)
    text = _board(reports, tmp_path / "dirty")
    assert "gamma" not in text and "delta" not in text
    assert text == clean


def test_other_suites_get_their_own_file(reports, tmp_path):
    result = make_result("alpha", "boolq", "frozen", 1, 77.0, suite="superglue")
    write_run(run_dir(reports, "alpha", "superglue", "boolq", "frozen", 1), result, [])
    written = write_leaderboards(reports, tmp_path / "b")
    assert written == [tmp_path / "b" / "glue.md", tmp_path / "b" / "superglue.md"]
    superglue = written[1].read_text(encoding="utf-8")
    assert superglue.startswith("# SuperGLUE leaderboard")
    assert "| `alpha` | 77.00 / – (–) | 77.00 | – | – |" in superglue
    assert "boolq" not in written[0].read_text(encoding="utf-8")


def test_empty_reports_folder(tmp_path):
    (tmp_path / "reports").mkdir()
    with pytest.raises(DataError, match="no readable results") as info:
        write_leaderboards(tmp_path / "reports", tmp_path / "out")
    assert str(tmp_path / "reports") in str(info.value)
    assert not (tmp_path / "out").exists()


def test_reports_folder_with_only_bad_files(tmp_path):
    (tmp_path / "reports" / "x").mkdir(parents=True)
    (tmp_path / "reports" / "x" / RESULT_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="no readable results"):
        write_leaderboards(tmp_path / "reports", tmp_path / "out")


def test_missing_reports_folder(tmp_path):
    with pytest.raises(DataError) as info:
        write_leaderboards(tmp_path / "nope", tmp_path / "out")
    assert str(tmp_path / "nope") in str(info.value) and "harness eval" in str(info.value)


def test_diagnostics_only(tmp_path):
    runs = [("m", "ax", "frozen", 1, 30.0, "official", False)]
    text = _board(write_reports(tmp_path / "r", runs), tmp_path / "b")
    assert "| `m` | 30.00 / – (–) | – | – | – |" in text


def test_seeds_do_not_change_group_weights(tmp_path):
    runs = [("m", "mnli", "frozen", 1, 80.0, "official", False),
            ("m", "mnli", "frozen", 2, 82.0, "official", False),
            ("m", "mnli_mismatched", "frozen", 1, 70.0, "official", False),
            ("m", "sst2", "frozen", 1, 90.0, "official", False)]
    results, _ = load_results(write_reports(tmp_path / "r", runs))
    # mnli 81 (seed mean) and mnli_mismatched 70 count as one task: 75.5; with sst2 90: 82.75
    assert suite_scores(results_frame(results), REGISTRY)[("m", "frozen")] == pytest.approx(82.75)
