"""Sweeps across machines: the plan of work units, its deterministic shares, and shares run into one folder."""
from __future__ import annotations

import logging

import pytest

from harness.api import plan_units
from harness.cli import main
from harness.work_units import WorkUnit, share, unit_of_run, work_units

TINY = ["--epochs", "1", "--min-steps", "0", "--batch-size", "16", "--device", "cpu", "--quiet"]


def test_the_plan_lists_each_trained_model_once_with_the_tasks_it_scores():
    units = plan_units(suite="glue", mode="both", seeds=[13, 42], train_sizes=[1000, None, 100]).units
    tasks = {unit.task for unit in units}
    assert "glue/ax" not in tasks and "glue/mnli_mismatched" not in tasks  # scored in MNLI's unit, never apart
    (mnli,) = {unit.scored for unit in units if unit.task == "glue/mnli"}
    assert set(mnli) == {"glue/ax", "glue/mnli_mismatched"}
    assert len(units) == len(tasks) * 2 * 2 * 3 == len(set(units))  # tasks x seeds x modes x sizes, each once
    first = units[:6]  # in the order evaluate runs them: seed, task, size (smallest first, all last), mode
    assert [(u.seed, u.train_size, u.mode) for u in first] == [
        (13, 100, "frozen"), (13, 100, "finetune"), (13, 1000, "frozen"), (13, 1000, "finetune"),
        (13, None, "frozen"), (13, None, "finetune")]
    assert units == plan_units(suite="glue", mode="both", seeds=[13, 42], train_sizes=[100, 1000, None]).units


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 40])
def test_the_shares_of_a_plan_are_disjoint_cover_it_and_are_as_even_as_the_count_allows(count):
    units = plan_units(suite="glue", mode="both", seeds=[13, 42]).units
    shares = [share(units, index, count) for index in range(count)]
    assert [unit for part in shares for unit in part] == units  # in order: disjoint, and together the whole plan
    sizes = [len(part) for part in shares]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(units) == 2 * 2 * 9


def test_a_size_beyond_the_train_split_runs_once_as_the_whole_split_under_the_first_unit_asking():
    units = work_units([("glue/sst2", [])], ["frozen"], [42], [16, 1000, None, 5000])
    assert unit_of_run(units, "glue/sst2", "frozen", 42, 16, train_rows=64).train_size == 16
    assert unit_of_run(units, "glue/sst2", "frozen", 42, None, train_rows=64).train_size == 1000
    assert unit_of_run(units, "glue/sst2", "frozen", 42, None, train_rows=10_000).train_size is None


def test_cli_plan_prints_one_unit_a_line_and_a_share_of_them(capsys):
    assert main(["plan", "--tasks", "glue/sst2,glue/ax", "--mode", "both", "--seeds", "1,2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["glue/sst2 frozen seed 1", "glue/sst2 finetune seed 1",
                     "glue/mnli frozen seed 1 (+ glue/ax)", "glue/mnli finetune seed 1 (+ glue/ax)",
                     "glue/sst2 frozen seed 2", "glue/sst2 finetune seed 2",
                     "glue/mnli frozen seed 2 (+ glue/ax)", "glue/mnli finetune seed 2 (+ glue/ax)"]
    assert main(["plan", "--tasks", "glue/sst2,glue/ax", "--mode", "both", "--seeds", "1,2", "--shard", "1/3"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == lines[2:5] and "shard 1/3: 3 of the plan's 8 work units" in printed.err


def test_the_plan_skips_the_tasks_whose_files_are_not_in_the_data_dir_and_says_why(glue_dir, tmp_path, capsys, caplog):
    with caplog.at_level(logging.INFO, logger="harness"):
        assert main(["plan", "--suite", "glue", "--mode", "frozen", "--data-dir", str(glue_dir), "--split-strategy",
                     "holdout", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert {line.split()[0] for line in printed.out.splitlines()} == {"glue/cola", "glue/mrpc", "glue/sst2", "glue/stsb"}
    assert len(printed.out.splitlines()) == 4 and "4 work unit(s) to run" in caplog.messages
    skipped = [line for line in printed.err.splitlines() if " skipped: " in line]
    assert len(skipped) == 7 and "glue/ax skipped: glue/mnli: no labelled validation split found" in printed.err
    assert main(["plan", "--tasks", "glue/qqp", "--data-dir", str(glue_dir), "--output-dir", str(tmp_path)]) == 2
    assert "glue/qqp: no labelled validation split found; put the official" in capsys.readouterr().err


def test_bad_shards_stop_before_any_compute(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--tasks", "glue/sst2", "--shard", "2-4"])
    assert info.value.code == 2 and "expected I/N such as 0/4" in capsys.readouterr().err
    assert main(["eval", "--tasks", "glue/sst2", "--shard", "4/4"]) == 2
    assert "--shard must be I/N with 0 <= I < N, got (4, 4)" in capsys.readouterr().err
    assert main(["eval", "--tasks", "glue/sst2", "--shard", "0/2", "--leaderboard-dir", "boards"]) == 2
    assert "run `harness leaderboard` once every share has" in capsys.readouterr().err


@pytest.mark.slow
def test_two_shares_run_into_one_folder_give_the_leaderboard_of_one_unsharded_run(tiny_model_dir, glue_dir, tmp_path,
                                                                                 monkeypatch, capsys, caplog):
    import harness.leaderboard as leaderboard

    common = ["eval", "--model", str(tiny_model_dir), "--tasks", "sst2,stsb,mrpc", "--mode", "both",
              "--data-dir", str(glue_dir), "--max-train-samples", "32", "--max-eval-samples", "16", *TINY]
    whole, shared = tmp_path / "whole", tmp_path / "shared"
    assert main([*common, "--output-dir", str(whole)]) == 0
    for index in (1, 0):  # either order: each share writes only its own run folders
        assert main([*common, "--output-dir", str(shared), "--shard", f"{index}/2"]) == 0
    capsys.readouterr()
    planning = ["plan", *(arg for arg in common[1:] if arg != "--quiet"), "--output-dir", str(shared)]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harness"):
        assert main(planning) == 0
    printed = capsys.readouterr()
    listed = printed.out.splitlines()
    assert len(listed) == 6 and all(line.endswith("  [finished]") for line in listed)
    # the count, the finished units and the estimate agree: each unit, run again, scaled from its finished run
    assert "6 work unit(s) to run, 6 of them finished earlier and run again (--resume keeps them)" in caplog.messages
    assert printed.err.startswith("about ") and "left in all" in printed.err
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harness"):
        assert main([*planning, "--resume"]) == 0
    assert "0 work unit(s) to run; 6 finished earlier and kept (--resume)" in caplog.messages
    assert "nothing left to run" in capsys.readouterr().err
    folders = sorted(str(p.parent.relative_to(shared)) for p in shared.rglob("result.json"))
    assert folders == sorted(str(p.parent.relative_to(whole)) for p in whole.rglob("result.json"))
    assert len(folders) == 6

    framed = leaderboard.results_frame  # wall time is measured, so it differs run to run: masked here

    def without_wall_time(*args, **kwargs):
        frame = framed(*args, **kwargs)
        frame["wall_s"] = 0.0
        return frame

    monkeypatch.setattr(leaderboard, "results_frame", without_wall_time)
    def markdown(reports):
        return {name: text for name, text in leaderboard.render_leaderboards(reports, resamples=200).items()
                if name.endswith(".md")}

    whole_board = markdown(whole)
    assert whole_board == markdown(shared)
    assert "stsb" in whole_board["glue.md"].decode()


def test_a_work_unit_names_its_run_folder(tmp_path):
    unit = WorkUnit("glue/sst2", "frozen", 13, 100)
    assert unit.folder(tmp_path, "minilm") == tmp_path / "minilm" / "glue" / "sst2" / "frozen-seed13-n100"
    assert unit.describe(with_seed=False) == "glue/sst2 frozen, train size 100"
