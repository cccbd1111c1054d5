"""Leaderboards that compare models: ranking per mode, each model's paired difference from the best, runs on other
examples never paired, the suite score's interval, baselines' tags, compute and the tokenizer's fit."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_leaderboard import LABELS, _board, _predicted, _rows, _section, write_scored

from harness import uncertainty
from harness.leaderboard_cells import flop_text
from harness.metrics import compute_scores, main_score
from harness.results import RESULT_FILE, ResultSet, load_results, run_dir, write_run
from harness.tasks import REGISTRY


def _intervals(root, resamples=uncertainty.DEFAULT_RESAMPLES):
    return ResultSet.load(root).intervals(resamples)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("|").split(" | ")]


def test_a_model_worse_on_some_examples_and_better_on_none_differs_from_the_best_with_an_interval_below_zero(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "alpha", "sst2", "frozen", 1, 0)    # right everywhere: 100
    write_scored(root, "beta", "sst2", "frozen", 1, 30)    # wrong on the first 30: 85, never right where alpha is not
    expected = uncertainty.paired_bootstrap(["accuracy"], _predicted(0), _predicted(30), LABELS)["accuracy"]
    versus = _intervals(root).versus[("beta", "glue", "sst2", "frozen")]
    assert versus.best == "alpha" and versus.difference == pytest.approx(-15.0)
    assert (versus.interval.low, versus.interval.high) == pytest.approx((expected.low, expected.high))
    assert versus.interval.high < 0 and versus.interval.excludes_zero() and not versus.tied()
    table = _section(_board(root, tmp_path / "b"), "### sst2")
    assert _cells(_rows(table, "| frozen | 1 |")[0])[:6] == ["frozen", "1", "`alpha`", "1", _main(100.0, root, "alpha"),
                                                           "best"]
    (beta,) = _rows(table, "| frozen | 2 |")
    assert _cells(beta)[5] == f"-15.00 [{expected.low:+.2f}, {expected.high:+.2f}] \\*"


def _main(score: float, root, model: str) -> str:
    found = _intervals(root).scores[(model, "glue", "sst2", "frozen")][uncertainty.MAIN]
    return f"{score:.2f} [{found.low:.2f}, {found.high:.2f}]"


def test_identical_predictions_differ_by_exactly_zero_and_tie_for_best(tmp_path):
    root = tmp_path / "r"
    for model in ("beta", "alpha"):
        for seed in (1, 2):
            write_scored(root, model, "sst2", "finetune", seed, 10 * seed)
    versus = _intervals(root).versus[("beta", "glue", "sst2", "finetune")]
    assert versus.best == "alpha"  # equal scores: the first by name is the best
    assert (versus.difference, versus.interval.low, versus.interval.high) == (0.0, 0.0, 0.0)
    assert versus.tied()
    (beta,) = _rows(_section(_board(root, tmp_path / "b"), "### sst2"), "| finetune | 2 | `beta` |")
    assert _cells(beta)[5] == "tied for best: +0.00 [+0.00, +0.00]"


def test_ranking_orders_by_score_per_mode_tags_baselines_and_ties_a_close_model(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "gamma", "sst2", "frozen", 1, 2)     # 99: wrong on 2 examples the best gets right
    write_scored(root, "alpha", "sst2", "frozen", 1, 0)     # 100: the best
    write_scored(root, "beta", "sst2", "frozen", 1, 60)     # 70
    write_scored(root, "majority", "sst2", "frozen", 1, 100, model_kind="majority")  # 50
    write_scored(root, "random:alpha", "sst2", "frozen", 1, 90, model_kind="random-init")  # 55
    write_scored(root, "beta", "sst2", "finetune", 1, 0)    # fine-tuned, beta is the best
    write_scored(root, "alpha", "sst2", "finetune", 1, 40)
    out = _intervals(root)
    assert out.best[("glue", "sst2", "frozen")] == "alpha" and out.best[("glue", "sst2", "finetune")] == "beta"
    close = out.versus[("gamma", "glue", "sst2", "frozen")]
    # two differing examples out of 200 are both left out of more than 2.5% of resamples (e^-2 = 13.5%)
    assert close.interval.high == 0.0 and close.tied()
    text = _board(root, tmp_path / "b")
    rows = [_cells(row) for row in _rows(_section(text, "### sst2"), "| f")]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("frozen", "1", "`alpha`"), ("frozen", "2", "`gamma`"), ("frozen", "3", "`beta`"),
        ("frozen", "4", "`random:alpha` (control)"), ("frozen", "5", "`majority` (baseline)"),
        ("finetune", "1", "`beta`"), ("finetune", "2", "`alpha`")]
    assert rows[1][5].startswith("tied for best: -1.00 [") and rows[1][5].endswith(", +0.00]")
    assert all(row[5].endswith(" \\*") for row in rows[2:5] + rows[6:])
    ranking = [_cells(row) for row in _rows(_section(text, "## Ranking"), "| f")]
    assert [(row[0], row[1], row[2], row[5].split(" ")[0]) for row in ranking] == [
        ("frozen", "1", "`alpha`", "best"), ("frozen", "2", "`gamma`", "tied"), ("frozen", "3", "`beta`", "-30.00"),
        ("frozen", "4", "`random:alpha` (control)", "-45.00"), ("frozen", "5", "`majority` (baseline)", "-50.00"),
        ("finetune", "1", "`beta`", "best"), ("finetune", "2", "`alpha`", "-20.00")]
    assert "- (baseline): a majority-class model" in text.split("## Notes", 1)[1]


def _cap(root, model, task, mode, seed, keep):
    """Rewrite a run as if --max-eval-samples had kept only its first `keep` examples (scores from those alone)."""
    folder = run_dir(root, model, "glue", task, mode, seed)
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = rows[:keep]
    result = ResultSet.of_run(folder).results[0]
    spec = REGISTRY.get(f"glue/{task}")
    scores = compute_scores(list(spec.metrics), [row["prediction"] for row in rows], [row["label"] for row in rows])
    result.scores, result.flags, result.main_score = scores, scores.flags, main_score(scores, spec.main_score)
    result.capped, result.num_eval = {"max_eval_samples": keep}, keep
    write_run(folder, result, rows)


def test_runs_on_other_evaluation_examples_are_never_paired_and_the_tables_say_so(tmp_path):
    root = tmp_path / "r"
    for model, wrong in (("alpha", 0), ("beta", 40)):
        write_scored(root, model, "sst2", "frozen", 1, wrong)
        write_scored(root, model, "mrpc", "frozen", 1, wrong)
    _cap(root, "beta", "sst2", "frozen", 1, 150)  # the ids beta saw are a subset of alpha's: still not paired
    out = _intervals(root)
    versus = out.versus[("beta", "glue", "sst2", "frozen")]
    assert versus.interval is None and versus.unpaired == uncertainty.OTHER_EXAMPLES
    assert out.versus[("beta", "glue", "mrpc", "frozen")].interval is not None  # the other task still pairs
    suite = out.versus[("beta", "glue", None, "frozen")]
    assert suite.interval is None and suite.unpaired == f"{uncertainty.OTHER_EXAMPLES} (sst2)"
    text = _board(root, tmp_path / "b")
    (row,) = _rows(_section(text, "### sst2 ‡"), "| frozen | 2 | `beta` |")
    assert _cells(row)[5].endswith(", not paired: other evaluation examples") and "[" not in _cells(row)[5]
    (row,) = _rows(_section(text, "## Ranking"), "| frozen | 2 | `beta` |")
    assert ", not paired: other evaluation examples (sst2) |" in row
    assert "never paired" in text.split("## Notes", 1)[1]


def test_seeds_on_holdouts_of_other_examples_are_not_paired_either(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "alpha", "sst2", "frozen", 1, 0)
    write_scored(root, "beta", "sst2", "frozen", 1, 20)
    write_scored(root, "beta", "sst2", "frozen", 2, 20)
    _cap(root, "beta", "sst2", "frozen", 2, 199)  # one seed's holdout lacks an example
    assert _intervals(root).versus[("beta", "glue", "sst2", "frozen")].unpaired == uncertainty.OTHER_EXAMPLES


def test_a_partial_model_is_listed_unranked_below_the_models_that_ran_the_full_task_set(tmp_path):
    """alpha and beta ran sst2, mrpc and cola; gamma, far better on the one task it ran, sst2 alone, and the control
    two of the three: only alpha and beta rank, on those three tasks, beta with its paired interval from alpha;
    gamma and the control sit below, unranked, with how many tasks they ran and which they lack, and no mean."""
    root = tmp_path / "r"
    for task, alpha, beta in (("sst2", 10, 40), ("mrpc", 30, 70), ("cola", 50, 90)):
        write_scored(root, "alpha", task, "frozen", 1, alpha)
        write_scored(root, "beta", task, "frozen", 1, beta)
    write_scored(root, "gamma", "sst2", "frozen", 1, 0)    # 100 on sst2: its mean would lead, over one task
    for task in ("sst2", "mrpc"):
        write_scored(root, "random:alpha", task, "frozen", 1, 100, model_kind="random-init")
    out = _intervals(root)
    assert out.best[("glue", None, "frozen")] == "alpha"
    assert ("gamma", "glue", "frozen") not in out.suites and ("gamma", "glue", None, "frozen") not in out.versus
    versus = out.versus[("beta", "glue", None, "frozen")]
    assert versus.interval is not None and versus.interval.high < 0 and not versus.unpaired
    text = _board(root, tmp_path / "b")
    rows = [_cells(row) for row in _rows(_section(text, "## Ranking"), "| frozen |")]
    assert [row[1:3] + row[4:5] for row in rows] == [
        ["1", "`alpha`", "3 of 3"], ["2", "`beta`", "3 of 3"], ["–", "`random:alpha` (control)", "2 of 3"],
        ["–", "`gamma`", "1 of 3"]]
    assert rows[1][5] == f"{versus.difference:+.2f} [{versus.interval.low:+.2f}, {versus.interval.high:+.2f}] \\*"
    assert [row[3] for row in rows[2:]] == ["–", "–"]
    assert [row[5] for row in rows[2:]] == ["unranked: lacks cola", "unranked: lacks cola, mrpc"]
    overview = _cells(next(row for row in text.splitlines() if row.startswith("| `gamma` |")))
    assert overview[-6:-4] == ["1 of 3 tasks", "–"]  # no GLUE frozen score, no fine-tuned run
    assert "100.00" not in _section(text, "## Ranking")
    notes = text.split("## Notes", 1)[1]
    assert ("Here: frozen: cola, mrpc, sst2 (3; run in full by `alpha`, `beta`).") in notes


def test_a_baseline_that_ran_more_tasks_does_not_widen_the_full_set_and_is_scored_on_it(tmp_path):
    """The majority baseline ran sst2, mrpc and cola; the one pretrained model sst2 and mrpc: the full set is the
    pretrained model's two tasks, and the baseline ranks on those alone, its third task not counted."""
    root = tmp_path / "r"
    for task in ("sst2", "mrpc"):
        write_scored(root, "alpha", task, "frozen", 1, 10)
    for task in ("sst2", "mrpc", "cola"):
        write_scored(root, "majority", task, "frozen", 1, 100, model_kind="majority")
    out = _intervals(root)
    results, _ = load_results(root)
    two = [r.main_score for r in results if r.model == "majority" and r.task != "cola"]
    assert out.suites[("majority", "glue", "frozen")].estimate == pytest.approx(np.mean(two))
    rows = [_cells(row) for row in _rows(_section(_board(root, tmp_path / "b"), "## Ranking"), "| frozen |")]
    assert [row[1:3] + row[4:5] for row in rows] == [["1", "`alpha`", "2 of 2"],
                                                     ["2", "`majority` (baseline)", "2 of 2 (+1 not counted)"]]
    assert rows[1][3].startswith(f"{np.mean(two):.2f} [")


def test_the_suite_score_has_an_interval_that_contains_it_and_a_paired_difference_from_the_best(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "alpha", "sst2", "frozen", 1, 10)    # 95
    write_scored(root, "alpha", "mrpc", "frozen", 1, 30)
    write_scored(root, "alpha", "cola", "frozen", 1, 50)
    write_scored(root, "beta", "sst2", "frozen", 1, 40)     # worse than alpha wherever they differ, on every task
    write_scored(root, "beta", "mrpc", "frozen", 1, 70)
    write_scored(root, "beta", "cola", "frozen", 1, 90)
    results, _ = load_results(root)
    out = _intervals(root)
    for model in ("alpha", "beta"):
        scores = [r.main_score for r in results if r.model == model]
        found = out.suites[(model, "glue", "frozen")]
        assert found.estimate == pytest.approx(np.mean(scores))
        assert found.low < found.estimate < found.high
        # tasks resampled independently: the mean's interval is narrower than the widest task's
        widest = max((out.scores[(model, "glue", t, "frozen")][uncertainty.MAIN] for t in ("sst2", "mrpc", "cola")),
                     key=lambda task: task.high - task.low)
        assert found.high - found.low < widest.high - widest.low
    versus = out.versus[("beta", "glue", None, "frozen")]
    alpha_score = out.suites[("alpha", "glue", "frozen")].estimate
    assert versus.difference == pytest.approx(out.suites[("beta", "glue", "frozen")].estimate - alpha_score)
    assert versus.interval.high < 0
    ranking = _section(_board(root, tmp_path / "b"), "## Ranking")
    found = out.suites[("alpha", "glue", "frozen")]
    (row,) = _rows(ranking, "| frozen | 1 | `alpha` |")
    assert _cells(row)[3:6] == [f"{alpha_score:.2f} [{found.low:.2f}, {found.high:.2f}]", "3 of 3", "best"]


def test_results_without_kind_compute_or_tokenizer_fit_render_with_dashes(tmp_path):
    root = tmp_path / "r"
    for mode in ("frozen", "finetune"):
        write_scored(root, "alpha", "sst2", mode, 1, 10)
        path = run_dir(root, "alpha", "glue", "sst2", mode, 1) / RESULT_FILE
        raw = json.loads(path.read_text(encoding="utf-8"))
        for name in ("model_kind", "compute", "tokenizer_fit"):
            del raw[name]  # as a result written before these were recorded
        path.write_text(json.dumps(raw), encoding="utf-8")
    (result,) = [r for r in load_results(root)[0] if r.mode == "frozen"]
    assert (result.model_kind, result.compute, result.tokenizer_fit) == ("pretrained", {}, {})
    out = tmp_path / "b"
    text = _board(root, out)
    assert not (out / "glue-compute.png").exists() and "-compute.png" not in text
    overview = text.split("\n## Ranking", 1)[0]
    assert "| `alpha` | 95.00 / 95.00 (+0.00) | 95.00 | 95.00 | +0.00 | 1,538 / 109,483,778 | – / – | 10 / 100 |" in overview
    assert _cells(_rows(_section(text, "## Ranking"), "| frozen |")[0])[-1] == "–"
    (row,) = _rows(_section(text, "### sst2"), "| frozen |")
    assert _cells(row)[-4:] == ["–", "–", "–", "–"]
    (row,) = _rows(_section(text, "## Frozen vs fine-tuned"), "| `alpha` |")
    assert _cells(row)[7] == "– / –"
    assert "¶" not in text and "(baseline)" not in text.split("## Notes", 1)[0]


FIT = {"tokens_per_word": 6.05, "unknown_share": 0.04, "truncated_share": 0.61,
       "truncated_share_by_side": {"text": 0.12, "text_pair": 0.58},
       "warning": "an English uncased vocabulary on Korean | splits syllables: 6.05 tokens per word"}


def test_compute_and_tokenizer_fit_are_shown_and_a_bad_fit_is_noted_under_its_table(tmp_path):
    root = tmp_path / "r"
    write_scored(root, "alpha", "mrpc", "frozen", 1, 10, compute={"flops": 2.5e13, "flops_by_phase": {
        "extraction": 2e13, "training": 0.0, "head": 4e12, "evaluation": 1e12}}, tokenizer_fit=FIT)
    write_scored(root, "alpha", "mrpc", "finetune", 1, 10, compute={"flops": 3.2e15}, tokenizer_fit=FIT)
    write_scored(root, "alpha", "sst2", "frozen", 1, 10, compute={"flops": 5e12})
    write_scored(root, "alpha", "sst2", "finetune", 1, 10)  # no compute recorded
    write_scored(root, "majority", "mrpc", "frozen", 1, 100, model_kind="majority", compute={"flops": 0.0})
    out = tmp_path / "b"
    text = _board(root, out)
    table = _section(text, "### mrpc")
    (row,) = _rows(table, "| frozen | 1 | `alpha` ¶ |")
    assert _cells(row)[-4:] == ["25 TFLOP", "6.05", "4.0%", "61.0% (text 12.0%, text_pair 58.0%)"]
    (row,) = _rows(table, "| finetune | 1 | `alpha` ¶ |")
    assert _cells(row)[-4] == "3.2 PFLOP"
    (row,) = _rows(table, "| frozen | 2 | `majority` (baseline) |")
    assert _cells(row)[-4:] == ["0 TFLOP", "–", "–", "–"]
    assert ("¶ `alpha`: an English uncased vocabulary on Korean / splits syllables: 6.05 tokens per word"
            in table.splitlines())
    assert "- ¶ the model's tokenizer fits the task's texts badly" in text.split("## Notes", 1)[1]
    # one seed of the suite: mrpc and sst2 frozen add up; fine-tuned lacks sst2's compute, so it has none
    assert "| 1,538 / 109,483,778 | 30 TFLOP / – | 20 / 200 |" in text
    (row,) = _rows(_section(text, "## Ranking"), "| finetune | 1 | `alpha` |")
    assert _cells(row)[-1] == "–"
    (row,) = _rows(_section(text, "## Frozen vs fine-tuned"), "| `alpha` | mrpc |")
    assert _cells(row)[7] == "25 TFLOP / 3.2 PFLOP"
    if (out / "glue.png").exists():  # matplotlib installed: the compute plot is drawn beside the board and linked
        assert (out / "glue-compute.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert "![GLUE: main score against compute, frozen and fine-tuned](glue-compute.png)" in text


@pytest.mark.parametrize("flops, text", [(None, "–"), (float("nan"), "–"), (0.0, "0 TFLOP"), (5e8, "< 0.001 TFLOP"),
                                         (1.234e12, "1.23 TFLOP"), (999e12, "999 TFLOP"), (2.5e15, "2.5 PFLOP")])
def test_flop_text(flops, text):
    assert flop_text(flops) == text


@pytest.mark.parametrize("field, value", [("compute", {"flops": "lots"}), ("compute", {"flops": -1}),
                                          ("tokenizer_fit", {"tokens_per_word": "many"}), ("model_kind", "big")])
def test_a_new_field_of_the_wrong_type_is_skipped_with_its_name(tmp_path, caplog, field, value):
    write_scored(tmp_path / "r", "alpha", "sst2", "frozen", 1, 10)
    write_scored(tmp_path / "r", "omega", "sst2", "frozen", 1, 10)
    path = run_dir(tmp_path / "r", "omega", "glue", "sst2", "frozen", 1) / RESULT_FILE
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    results, problems = load_results(tmp_path / "r")
    assert [r.model for r in results] == ["alpha"]
    assert len(problems) == 1 and problems[0].startswith(f"{path}: field {field!r} must be")



@pytest.mark.parametrize("ran, kinds, full", [
    ({"a": {"x", "y", "z"}, "b": {"x", "y"}, "c": {"x"}}, {}, {"x", "y", "z"}),    # the best-covered model's tasks
    ({"a": {"x", "y"}, "b": {"y", "z"}, "c": {"y"}}, {}, {"y"}),                  # a tie: the tasks both ran
    ({"a": {"x"}, "b": {"z"}}, {}, set()),                                        # a tie sharing nothing: no set
    ({"a": {"x"}, "m": {"x", "y", "z"}}, {"m": "majority"}, {"x"}),               # a baseline does not widen it
    ({"m": {"x", "y"}, "r": {"x"}}, {"m": "majority", "r": "random-init"}, {"x", "y"}),  # none pretrained: any
    ({}, {}, set()),
])
def test_the_full_task_set_is_the_best_covered_pretrained_models(ran, kinds, full):
    assert uncertainty.full_task_set(ran, kinds) == frozenset(full)
