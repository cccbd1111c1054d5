"""Leaderboards from a reports tree: cell values, suite scores, footnote marks, determinism, bad files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.errors import DataError
from harness.leaderboard import write_leaderboards
from harness.results import RESULT_FILE, RunResult, load_results, run_dir, write_run
from harness.results.frame import results_frame
from harness.suite_scores import suite_scores
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
#   beta finetune  no stsb run: 4 of the 5 tasks alpha (the best-covered pretrained model) fine-tuned, so no GLUE
#                  score (its mean over 3 groups, 88.00, would rank other tasks), and no Δ
ALPHA_ROW = ("| `alpha` | 20.00 / 40.00 (+20.00) | 65.00 / 84.00 (+19.00) | 67.00 / 83.00 (+16.00) "
             "| 70.00 / 85.50 (+15.50) | 80.00 / 90.00 (+10.00) | 61.00 / 88.00 (+27.00) "
             "| 69.25 | 86.75 | +17.50 | 1,538 / 109,483,778 | – / – | 50 / 500 |")  # ax's run time is left out, as its score
BETA_ROW = ("| `beta` | – / – (–) | 70.00 / 86.00 (+16.00) | 72.00 / 85.00 (+13.00) "
            "| 72.00 / 86.00 (+14.00) | 85.00 / 92.50 (+7.50) | 70.00 / – (–) "
            "| 74.50 | 4 of 5 tasks | – | 1,538 / 109,483,778 | – / – | 50 / 500 |")
HEADER = ("| model | ax | mnli | mnli_mismatched | mrpc † | sst2 | stsb ‡ | GLUE frozen | GLUE fine-tuned | Δ "
          "| trainable params (frozen / fine-tuned) | compute, one seed (frozen / fine-tuned) "
          "| wall time s (frozen / fine-tuned) |")


def make_result(model, task, mode, seed, score, strategy="official", capped=False, suite="glue") -> RunResult:
    return RunResult(
        suite=suite, task=task, task_version=1, model=model, mode=mode, seed=seed,
        scores={"accuracy": score}, main_score=score, split_strategy=strategy,
        num_train=0 if task in ("ax", "mnli_mismatched") else 100, num_eval=50,
        provenance={"hyperparameters": {"epochs": 3.0, "learning_rate": 1e-4, "batch_size": 32, "head": "linear"}},
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


def _markdown_files(written: list[Path]) -> list[Path]:
    return [path for path in written if path.suffix == ".md"]


def _board(reports: Path, out: Path) -> str:
    written = write_leaderboards(reports, out)
    assert _markdown_files(written) == [out / "glue.md"]
    return (out / "glue.md").read_text(encoding="utf-8")


def test_glue_leaderboard_cells_and_suite_scores(reports, tmp_path):
    text = _board(reports, tmp_path / "boards")
    lines = text.splitlines()
    assert lines[0] == "# GLUE leaderboard"
    assert HEADER in lines
    table_start = lines.index(HEADER)
    assert lines[table_start + 1] == "|" + "|".join(["---"] * 13) + "|"
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


def test_flagged_runs_get_a_mark_on_their_cell_and_a_legend_line(reports, tmp_path):
    assert "§" not in _board(reports, tmp_path / "plain")  # no flags: no mark, no legend
    frozen = make_result("m", "stsb", "frozen", 42, 0.0)
    frozen.flags = [{"code": "undefined_correlation", "message": "the predictions are constant"}]
    for result in (frozen, make_result("m", "stsb", "finetune", 42, 80.0)):
        write_run(run_dir(tmp_path / "r", "m", "glue", "stsb", result.mode, 42), result, [{"id": "x", "prediction": 0}])
    text = _board(tmp_path / "r", tmp_path / "b")
    assert "| `m` | 0.00§ / 80.00 (+80.00) |" in text
    assert "| `m` | stsb | frozen | 42 | 0.00§ | accuracy 0.00 |" in text
    notes = text.split("## Notes", 1)[1]
    assert "- § the run's scores carry a caveat" in notes
    assert "  - `stsb`: frozen seed 42: the predictions are constant" in notes


def test_runs_section_lists_every_result(reports, tmp_path):
    text = _board(reports, tmp_path / "boards")
    runs = text.split("## Runs", 1)[1].split("## Notes", 1)[0]
    rows = [line for line in runs.splitlines() if line.startswith("| `")]
    assert len(rows) == len(RUNS)
    assert rows[0] == "| `alpha` | ax | finetune | 42 | 40.00 | accuracy 40.00 | official | 0 | 50 | 3 ep, lr 0.0001, bs 32, pooler head | 109,483,778 | 100.0 |"
    assert "| `alpha` | mrpc | frozen | 42 | 70.00 | accuracy 70.00 | holdout | 100 | 50 | linear head | 1,538 | 10.0 |" in rows
    beta_sst2 = [r for r in rows if r.startswith("| `beta` | sst2 | finetune")]
    assert [r.split(" | ")[3] for r in beta_sst2] == ["1", "2"]


def test_suite_scores_function(reports):
    results, problems = load_results(reports)
    assert problems == [] and len(results) == len(RUNS)
    scores = suite_scores(results_frame(results), REGISTRY)
    # beta fine-tuned 4 of the 5 tasks: no suite score, not its mean over other tasks (88.0)
    assert scores.to_dict() == pytest.approx({("alpha", "finetune"): 86.75, ("alpha", "frozen"): 69.25,
                                              ("beta", "frozen"): 74.5})


def test_regeneration_is_byte_identical(reports, tmp_path):
    first = (write_leaderboards(reports, tmp_path / "one")[0]).read_bytes()
    second = (write_leaderboards(reports, tmp_path / "one")[0]).read_bytes()
    assert first == second
    # the same results written in another order give the same file
    shuffled = write_reports(tmp_path / "shuffled", list(reversed(RUNS)))
    assert (write_leaderboards(shuffled, tmp_path / "two")[0]).read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "one").iterdir() if p.suffix != ".png") == ["glue.md"]  # no temp files


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
    written = _markdown_files(write_leaderboards(reports, tmp_path / "b"))
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


# --- intervals, task tables, footnotes, plots and --check, on runs with real predictions -------------------

N = 200
LABELS = [i % 2 for i in range(N)]
SOURCE = {"validation": {"kind": "file", "path": "glue/MRPC/dev.tsv", "sha256": "54a9c12c77e402fc" + "0" * 48},
          "train": {"kind": "hub", "path": "nyu-mll/glue", "name": "mrpc", "split": "train", "revision": None,
                    "fingerprint": "f00dfeedbeef1234"}}


def _predicted(wrong: int) -> list[int]:
    """Wrong on the first `wrong` examples, right on the rest."""
    return [1 - label if i < wrong else label for i, label in enumerate(LABELS)]


def write_scored(root: Path, model: str, task: str, mode: str, seed: int, wrong: int, predicted: list | None = None,
                 **changes) -> RunResult:
    """A result whose scores (and flags) are computed from the predictions written beside it, as evaluate() writes
    them: `predicted`, or wrong on the first `wrong` examples."""
    from harness.metrics import compute_scores, main_score

    predictions = predicted if predicted is not None else _predicted(wrong)
    spec = REGISTRY.get(f"glue/{task}")
    scores = compute_scores(list(spec.metrics), predictions, LABELS)
    fields = dict(suite="glue", task=task, task_version=1, model=model, mode=mode, seed=seed, scores=scores,
                  flags=scores.flags,
                  main_score=main_score(scores, spec.main_score), split_strategy="official", num_train=1000,
                  num_eval=N, provenance={"hyperparameters": {"epochs": 3.0}, "data": SOURCE},
                  timings={"total_s": 10.0 if mode == "frozen" else 100.0,
                           "trainable_parameters": FROZEN_PARAMS if mode == "frozen" else TUNED_PARAMS})
    fields.update(changes)
    result = RunResult(**fields)
    rows = [{"id": f"glue/MRPC/dev.tsv:{i:03d}", "fold": 0, "label": LABELS[i], "prediction": predictions[i]}
            for i in range(N)]
    write_run(run_dir(root, model, "glue", task, mode, seed), result, rows)
    return result


@pytest.fixture
def scored(tmp_path) -> Path:
    root = tmp_path / "scored"
    write_scored(root, "alpha", "mrpc", "frozen", 42, 40)     # accuracy 80
    write_scored(root, "alpha", "mrpc", "finetune", 42, 10)   # accuracy 95: right wherever frozen is
    write_scored(root, "alpha", "sst2", "frozen", 1, 16)      # 92
    write_scored(root, "alpha", "sst2", "frozen", 2, 14)      # 93
    write_scored(root, "alpha", "sst2", "finetune", 1, 16)    # identical predictions to frozen seed 1 ...
    write_scored(root, "alpha", "sst2", "finetune", 2, 14)    # ... and seed 2: a zero difference
    return root


def _section(text: str, title: str) -> str:
    return text.split(f"\n{title}\n", 1)[1].split("\n#", 1)[0]  # up to the next heading


def _rows(section: str, start: str) -> list[str]:
    return [line for line in section.splitlines() if line.startswith(start)]


def _cell(value: float, interval) -> str:
    return f"{value:.2f} [{interval.low:.2f}, {interval.high:.2f}]"


def test_task_tables_show_every_metric_with_its_bootstrap_interval(scored, tmp_path):
    from harness import uncertainty

    text = _board(scored, tmp_path / "b")
    mrpc = _section(text, "### mrpc")
    assert ("| mode | rank | model | seeds | main | vs best (95% paired interval) | accuracy | f1 | compute per run "
            "| tokens per word | unknown tokens | truncated |") in mrpc
    frozen = uncertainty.bootstrap(["accuracy", "f1"], _predicted(40), LABELS)
    spread = uncertainty.distributions(["accuracy", "f1"], _predicted(40), LABELS)
    main = uncertainty.interval((frozen["accuracy"].estimate + frozen["f1"].estimate) / 2,
                          (spread["accuracy"] + spread["f1"]) / 2)
    (row,) = _rows(mrpc, "| frozen | 1 | `alpha` |")
    assert row == (f"| frozen | 1 | `alpha` | 42 | {_cell(main.estimate, main)} | best "
                   f"| {_cell(80.0, frozen['accuracy'])} | {_cell(frozen['f1'].estimate, frozen['f1'])} | – | – | – | – |")
    assert _rows(mrpc, "| ")[2].startswith("| finetune | 1 | `alpha` | 42 | ")  # frozen first


def test_seeds_show_mean_std_and_the_interval_of_the_seed_mean(scored, tmp_path):
    from harness import uncertainty

    text = _board(scored, tmp_path / "b")
    spreads = [uncertainty.distributions(["accuracy"], _predicted(w), LABELS)["accuracy"] for w in (16, 14)]
    interval = uncertainty.interval(92.5, (spreads[0] + spreads[1]) / 2)
    (row,) = _rows(_section(text, "### sst2"), "| frozen |")
    # seeds 92 and 93: mean 92.50, sample std sqrt(0.5) = 0.71
    cell = f"92.50 ± 0.71 [{interval.low:.2f}, {interval.high:.2f}]"
    assert row == f"| frozen | 1 | `alpha` | 1, 2 | {cell} | best | {cell} | – | – | – | – |"


def test_frozen_vs_finetuned_has_the_paired_interval_and_a_marker_when_it_excludes_zero(scored, tmp_path):
    from harness import uncertainty

    text = _board(scored, tmp_path / "b")
    comparison = _section(text, "## Frozen vs fine-tuned")
    assert ("| model | task | frozen | fine-tuned | Δ | Δ 95% interval | trainable params (frozen / fine-tuned) "
            "| compute per run (frozen / fine-tuned) | wall time s per run (frozen / fine-tuned) |") in comparison
    metrics = ["accuracy", "f1"]
    frozen = uncertainty.distributions(metrics, _predicted(40), LABELS)
    tuned = uncertainty.distributions(metrics, _predicted(10), LABELS)
    delta = uncertainty.interval(0, (tuned["accuracy"] + tuned["f1"]) / 2 - (frozen["accuracy"] + frozen["f1"]) / 2)
    assert delta.low > 0
    (mrpc,) = _rows(comparison, "| `alpha` | mrpc |")
    cells = mrpc.split(" | ")
    assert cells[4].endswith(" \\*") and cells[4].startswith("+")
    assert cells[5] == f"[{delta.low:+.2f}, {delta.high:+.2f}]"
    assert cells[6:] == ["1,538 / 109,483,778", "– / –", "10.0 / 100.0 |"]
    # the same predictions in both modes: exactly zero, no marker
    (sst2,) = _rows(comparison, "| `alpha` | sst2 |")
    assert sst2.startswith("| `alpha` | sst2 | 92.50 | 92.50 | +0.00 | [+0.00, +0.00] |")


def test_the_paired_interval_uses_only_the_examples_both_modes_evaluated(tmp_path):
    from harness.metrics import compute_scores

    root = tmp_path / "r"
    write_scored(root, "m", "sst2", "frozen", 1, 0)
    tuned = write_scored(root, "m", "sst2", "finetune", 1, 0)
    # the fine-tuned run saw 20 more examples (all wrong), the frozen run never saw them: they do not pair
    folder = run_dir(root, "m", "glue", "sst2", "finetune", 1)
    extra = [{"id": f"extra:{i}", "fold": 0, "label": 0, "prediction": 1} for i in range(20)]
    lines = (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines] + extra
    scores = compute_scores(["accuracy"], [r["prediction"] for r in rows], [r["label"] for r in rows])
    tuned.scores, tuned.main_score, tuned.num_eval = scores, scores["accuracy"], len(rows)
    write_run(folder, tuned, rows)
    (row,) = _rows(_section(_board(root, tmp_path / "b"), "## Frozen vs fine-tuned"), "| `m` | sst2 |")
    assert "| [+0.00, +0.00] |" in row


def test_notes_name_split_notes_caps_and_data_sources(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "m", "mrpc", "frozen", 1, 30, split_strategy="holdout",
                 split_note="train missing: stratified 80%/20% of validation")
    write_scored(root, "m", "mrpc", "finetune", 1, 20, capped={"max_train_samples": 256, "max_eval_samples": 64})
    notes = _section(_board(root, tmp_path / "b"), "## Notes")
    assert "  - `mrpc`: train missing: stratified 80%/20% of validation" in notes
    assert "  - `mrpc`: max_eval_samples=64, max_train_samples=256" in notes
    assert ("  - `mrpc`: train Hub `nyu-mll/glue/mrpc` split `train` (fingerprint `f00dfeedbeef`); "
            "validation `glue/MRPC/dev.tsv` (sha256 `54a9c12c77e4`)") in notes
    assert "1,000 resamples, seed 0" in notes


def test_unreadable_predictions_leave_scores_without_intervals(scored, tmp_path, caplog):
    broken = run_dir(scored, "alpha", "glue", "mrpc", "finetune", 42) / "predictions.jsonl"
    broken.write_text('{"id": "a", "label": 1}\n', encoding="utf-8")
    text = _board(scored, tmp_path / "b")
    assert f"{broken}:1" in caplog.text
    (row,) = _rows(_section(text, "### mrpc"), "| finetune |")
    assert "[" not in row and row.startswith("| finetune | 1 | `alpha` | 42 | ")
    (row,) = _rows(_section(text, "## Frozen vs fine-tuned"), "| `alpha` | mrpc |")
    assert row.split(" | ")[5] == "–"
    assert _rows(_section(text, "### sst2"), "| frozen |")[0].count("[") == 2  # the rest is intact


def test_regeneration_with_intervals_and_plot_is_byte_identical(scored, tmp_path):
    first = {p.name: p.read_bytes() for p in write_leaderboards(scored, tmp_path / "one")}
    again = {p.name: p.read_bytes() for p in write_leaderboards(scored, tmp_path / "one")}
    assert first == again


def test_plot_is_drawn_beside_the_board_and_linked(scored, tmp_path):
    pytest.importorskip("matplotlib")
    written = write_leaderboards(scored, tmp_path / "b")
    assert written == [tmp_path / "b" / "glue.md", tmp_path / "b" / "glue.png"]
    assert written[1].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"matplotlib" not in written[1].read_bytes()  # no Software tag: bytes do not carry the version
    assert "![GLUE: frozen vs fine-tuned main score per task, with 95% intervals](glue.png)" in written[0].read_text()


def test_without_matplotlib_the_board_says_how_to_get_the_plot(scored, tmp_path, monkeypatch):
    from harness import plots

    monkeypatch.setattr(plots, "available", lambda: False)
    assert write_leaderboards(scored, tmp_path / "b") == [tmp_path / "b" / "glue.md"]
    text = (tmp_path / "b" / "glue.md").read_text()
    assert 'Plot not drawn: matplotlib is not installed (`pip install -e ".[plots]"`).' in text and "](glue" not in text


def test_check_finds_stale_missing_and_orphaned_files_and_writes_nothing(scored, tmp_path):
    from harness.leaderboard import check_leaderboards

    out = tmp_path / "b"
    written = write_leaderboards(scored, out)
    assert check_leaderboards(scored, out) == []
    before = {p: p.read_bytes() for p in out.iterdir()}
    write_scored(scored, "alpha", "mrpc", "frozen", 42, 41)  # a new result: the board is stale
    assert check_leaderboards(scored, out) == [out / "glue.md"]
    assert {p: p.read_bytes() for p in out.iterdir()} == before
    write_leaderboards(scored, out)
    (out / "superglue.md").write_text("# old\n")
    assert check_leaderboards(scored, out) == [out / "superglue.md"]
    (out / "superglue.md").unlink()
    if len(written) == 2:  # matplotlib installed: a missing plot is stale, its bytes are not compared
        written[1].write_bytes(b"\x89PNG other renderer")
        assert check_leaderboards(scored, out) == []
        written[1].unlink()
        assert check_leaderboards(scored, out) == [written[1]]


def test_cli_leaderboard_check_exits_1_naming_stale_files(scored, tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "b"
    assert main(["leaderboard", str(scored), "--out", str(out), "--check"]) == 1
    assert str(out / "glue.md") in capsys.readouterr().err
    assert main(["leaderboard", str(scored), "--out", str(out), "--resamples", "200"]) == 0
    assert main(["leaderboard", str(scored), "--out", str(out), "--check", "--resamples", "200"]) == 0
    assert "current" in capsys.readouterr().out
    assert main(["leaderboard", str(scored), "--out", str(out), "--check"]) == 1  # 1,000 resamples differ
    err = capsys.readouterr().err
    assert err.startswith("harness: leaderboards out of date: ") and "--resamples" not in err


def test_cli_leaderboard_check_with_a_truncated_result_still_checks_the_rest(scored, tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "b"
    assert main(["leaderboard", str(scored), "--out", str(out)]) == 0
    (scored / "zeta" / "glue").mkdir(parents=True)
    (scored / "zeta" / "glue" / RESULT_FILE).write_text('{"schema": "harness.run/1", "sui', encoding="utf-8")
    assert main(["leaderboard", str(scored), "--out", str(out), "--check"]) == 0


def test_cli_seeds_run_the_evaluation_once_per_seed(monkeypatch, capsys):
    import harness.api
    from harness.api import Evaluation
    from harness.cli import main

    seen = []

    def one_seed(model, tasks, suite, mode, *, config, **kwargs):
        seen.append((tasks, mode, config.seed, config.epochs))
        return Evaluation()

    monkeypatch.setattr(harness.api, "_evaluate_seed", one_seed)
    assert main(["eval", "--tasks", "sst2", "--mode", "frozen", "--seeds", "13,42,87", "--epochs", "2"]) == 0
    assert seen == [(["sst2"], "frozen", 13, 2.0), (["sst2"], "frozen", 42, 2.0), (["sst2"], "frozen", 87, 2.0)]
    assert main(["eval", "--tasks", "sst2", "--seed", "7"]) == 0
    assert seen[-1][2] == 7
    for bad in (["--seeds", "13,x"], ["--seeds", "1,1"], ["--seeds", "13", "--seed", "7"]):
        with pytest.raises(SystemExit) as info:
            main(["eval", "--tasks", "sst2", *bad])
        assert info.value.code == 2
    assert "--seeds" in capsys.readouterr().err


# --- results that must not be believed: fields of the wrong type, names that would be paths ----------------


def _tamper(root: Path, model: str, task: str, mode: str, seed: int, fields: dict) -> Path:
    """A result of `scored`'s kind, then rewritten with these raw JSON fields, as a hand edit or another tool would."""
    write_scored(root, model, task, mode, seed, 20)
    path = run_dir(root, model, "glue", task, mode, seed) / RESULT_FILE
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update(fields)
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize("field, value", [("scores", "high"), ("timings", None)])
def test_a_result_with_a_field_of_the_wrong_type_is_skipped_by_every_command_with_its_name(
        scored, tmp_path, capsys, caplog, field, value):
    from harness.cli import main

    clean = _board(scored, tmp_path / "clean")
    bad = _tamper(scored, "omega", "sst2", "frozen", 42, {field: value})
    out = tmp_path / "b"
    assert main(["leaderboard", str(scored), "--out", str(out)]) == 0
    assert (out / "glue.md").read_text(encoding="utf-8") == clean  # the bad run is left out, nothing else changes
    assert f"skipped {bad}: field {field!r} must be" in caplog.text
    assert main(["leaderboard", str(scored), "--out", str(out), "--check"]) == 0
    capsys.readouterr()
    assert main(["export", str(scored), "--format", "csv"]) == 0
    assert "omega" not in capsys.readouterr().out
    assert main(["report", str(bad.parent)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: error: {bad}: field {field!r} must be") and err.count("\n") == 1
    assert not (bad.parent / "report.md").exists()


def test_a_suite_name_read_from_a_result_never_becomes_a_path(scored, tmp_path, caplog):
    from harness.cli import main

    readme = tmp_path / "README.md"
    readme.write_text("mine\n", encoding="utf-8")
    bad = _tamper(scored, "omega", "sst2", "frozen", 42, {"suite": "../README"})
    _tamper(scored, "omega", "mrpc", "frozen", 42, {"task": "../../x"})
    out = tmp_path / "boards"
    assert main(["leaderboard", str(scored), "--out", str(out)]) == 0
    assert readme.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".md") == ["glue.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "boards", "scored"]
    assert f"skipped {bad}: field 'suite' must be a suite name" in caplog.text
    assert "field 'task' must be a task name" in caplog.text


def test_a_predictions_file_outside_the_run_folder_is_never_read(scored, tmp_path, caplog):
    from harness.cli import main

    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "x", "label": 1, "prediction": 1}\n', encoding="utf-8")
    bad = _tamper(scored, "omega", "sst2", "frozen", 42, {"predictions_file": f"../../../../../{secret.name}"})
    assert main(["leaderboard", str(scored), "--out", str(tmp_path / "b")]) == 0
    assert f"skipped {bad}: field 'predictions_file' must be a file inside the run folder" in caplog.text
    assert "omega" not in (tmp_path / "b" / "glue.md").read_text(encoding="utf-8")


def test_leaderboard_out_that_is_a_file_is_one_line_exit_2(scored, tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "boards.md"
    out.write_text("mine\n", encoding="utf-8")
    for check in ([], ["--check"]):
        assert main(["leaderboard", str(scored), "--out", str(out), *check]) == 2
        assert capsys.readouterr().err == f"harness: error: --out {out} is a file, not a folder; pass a folder\n"
    assert out.read_text(encoding="utf-8") == "mine\n"


# --- scores that cannot be measured -------------------------------------------------------------------


def test_an_undefined_score_is_shown_undefined_with_a_note_never_as_a_number(tmp_path):
    constant = write_scored(tmp_path / "r", "m", "cola", "frozen", 42, 0, predicted=[1] * N)  # MCC is 0 / 0
    assert np.isnan(constant.scores["mcc"]) and constant.flags
    write_scored(tmp_path / "r", "m", "cola", "finetune", 42, 20)
    write_scored(tmp_path / "r", "m", "sst2", "frozen", 42, 20)
    text = _board(tmp_path / "r", tmp_path / "b")
    assert " nan" not in text.lower() and "[0.00, 0.00]" not in text
    # the cola cell stays undefined; the suite score counts its MCC as 0, GLUE's rule: (0 + 90) / 2
    assert "| `m` | undefined§ / 80.00 (undefined) | 90.00 / – (–) | 45.00 | 80.00 | other tasks |" in text
    assert "| `m` | cola | frozen | 42 | undefined§ | mcc undefined |" in text
    (frozen_row,) = _rows(_section(text, "### cola"), "| frozen |")
    assert frozen_row == "| frozen | – | `m` | 42 | undefined | – | undefined | – | – | – | – |"
    notes = text.split("## Notes", 1)[1]
    assert "- undefined: the score cannot be measured" in notes and "one class predicted: " not in notes
    assert "  - `cola`: frozen seed 42: the predictions are constant, so mcc is undefined" in notes
    assert ("- Suite scores count an undefined MCC or R3 as 0, the rule of GLUE's official scorer (scikit-learn's "
            "matthews_corrcoef); the task's own cell stays undefined: `cola` frozen seed 42.") in notes


def test_an_undefined_correlation_other_than_mcc_leaves_the_suite_score_undefined(tmp_path):
    write_scored(tmp_path / "r", "m", "stsb", "frozen", 42, 0, predicted=[2.0] * N)  # Pearson is 0 / 0
    write_scored(tmp_path / "r", "m", "sst2", "frozen", 42, 20)
    results, _ = load_results(tmp_path / "r")
    assert np.isnan(suite_scores(results_frame(results), REGISTRY)[("m", "frozen")])
    assert "Suite scores count an undefined MCC" not in _board(tmp_path / "r", tmp_path / "b")


def test_two_models_of_one_folder_name_get_a_row_each_by_their_slug(tmp_path):
    """Two local checkpoints both in a folder called `model` record the same name; their results live under
    different slugs, and the leaderboard keeps them apart by those."""
    root = tmp_path / "reports"
    for slug, score in (("model-1111aaaa", 80.0), ("model-2222bbbb", 60.0)):
        for mode in ("frozen", "finetune"):
            result = make_result("model", "sst2", mode, 42, score)
            write_run(run_dir(root, slug, "glue", "sst2", mode, 42), result, [{"id": "x", "prediction": 0}])
    results, _ = load_results(root)
    assert sorted({r.model for r in results}) == ["model-1111aaaa", "model-2222bbbb"]
    text = _board(root, tmp_path / "boards")
    assert "| `model-1111aaaa` | 80.00 / 80.00 (+0.00) |" in text
    assert "| `model-2222bbbb` | 60.00 / 60.00 (+0.00) |" in text
    assert "`model` |" not in text


def test_the_notes_name_every_cell_not_run(tmp_path):
    """A pretrained model with both modes on MRPC and RTE, its control frozen on MRPC alone: the notes list the
    control's missing frozen RTE and every fine-tuned task, and nothing of the complete model."""
    import shutil

    from harness.leaderboard import render_leaderboards

    reports = Path(__file__).resolve().parents[1] / "reports"
    for run in ("minilm/glue/mrpc/frozen-seed42", "minilm/glue/mrpc/finetune-seed42", "minilm/glue/rte/frozen-seed42",
                "minilm/glue/rte/finetune-seed42", "random_minilm/glue/mrpc/frozen-seed42"):
        shutil.copytree(reports / run, tmp_path / run)
    board = render_leaderboards(tmp_path)["glue.md"].decode()
    note = next(line for line in board.splitlines() if line.startswith("- –: no result"))
    assert note.endswith("Not run: `random:minilm` frozen: rte; `random:minilm` finetune: every task.")


def test_a_suite_delta_over_other_tasks_per_mode_is_not_given():
    """A model that ran the full task set of both modes, where the two sets differ: its two suite scores average
    other tasks, so the overview's Δ says so instead of subtracting them."""
    from harness.leaderboard_cells import suite_delta_text

    runs = results_frame([make_result("m", "sst2", "frozen", 1, 80.0), make_result("m", "mrpc", "frozen", 1, 70.0),
                          make_result("m", "sst2", "finetune", 1, 90.0)])
    assert suite_delta_text(75.0, 90.0, runs) == "other tasks"
    assert suite_delta_text(75.0, 90.0, runs[runs["task"] == "sst2"]) == "+15.00"


def test_models_whose_best_covered_sets_differ_rank_on_the_tasks_all_of_them_ran(tmp_path):
    """all-mpnet-base-v2 frozen on STS-B alone, minilm frozen on MRPC alone: the two best-covered pretrained models
    share no task, so there is no full set, no GLUE score and no rank, and each row says how many tasks it ran."""
    import shutil

    from harness.leaderboard import render_leaderboards

    reports = Path(__file__).resolve().parents[1] / "reports"
    for run in ("all-mpnet-base-v2/glue/stsb/frozen-seed42", "minilm/glue/mrpc/frozen-seed42"):
        shutil.copytree(reports / run, tmp_path / run)
    board = render_leaderboards(tmp_path)["glue.md"].decode()
    ranking = [line for line in board.split("## Ranking", 1)[1].split("## Frozen", 1)[0].splitlines()
               if line.startswith("| frozen |")]
    assert [line.split(" | ")[1:5] for line in ranking] == [["–", "`all-mpnet-base-v2`", "–", "1 task, no full set"],
                                                            ["–", "`minilm`", "–", "1 task, no full set"]]
    assert all("unranked: the best-covered models share no task" in line for line in ranking)
    assert "frozen: none (the best-covered models share no task, so no model is ranked)" in board
