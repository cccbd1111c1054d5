"""evaluate() and the CLI end to end on a tiny random BERT and GLUE-layout files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from harness import evaluate
from harness.cli import main
from harness.errors import ConfigError, DataError, TaskError
from harness.models import resolve_model
from harness.results import read_result

FAST = dict(epochs=1, min_steps=0, batch_size=16, quiet=True, device="cpu")


def _result(root, task, mode, seed=42):
    (path,) = root.rglob(f"glue/{task}/{mode}-seed{seed}/result.json")
    return read_result(path), path.parent


def test_both_modes_write_one_result_each_with_provenance(tiny_model_dir, glue_dir, tmp_path):
    out = tmp_path / "reports"
    evaluation = evaluate(str(tiny_model_dir), tasks=["glue/stsb"], mode="both", data_dir=glue_dir,
                          output_dir=out, **FAST)
    assert [(r.task, r.mode) for r in evaluation.results] == [("stsb", "frozen"), ("stsb", "finetune")]
    frozen, folder = _result(out, "stsb", "frozen")
    assert set(frozen.scores) == {"pearson", "spearman", "cosine_pearson", "cosine_spearman"}
    assert frozen.main_score == pytest.approx((frozen.scores["pearson"] + frozen.scores["spearman"]) / 2)
    assert frozen.split_strategy == "official" and frozen.num_train == 64 and frozen.num_eval == 32
    provenance = frozen.provenance
    assert len(provenance["model"]["weights_sha256"]) == 64
    assert provenance["data"]["train"]["sha256"] and provenance["data"]["validation"]["path"] == "glue/STS-B/dev.tsv"
    assert provenance["hyperparameters"]["epochs"] == 1 and provenance["seed"] == 42
    assert provenance["libraries"]["torch"] and provenance["device"]["device"] == "cpu"
    assert frozen.timings["trainable_parameters"] == 161  # ridge over [joint, u, v, |u - v|, u * v]: 5 x 32 + bias
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 32 and {"id", "label", "prediction", "cosine"} <= set(rows[0])

    tuned, folder = _result(out, "stsb", "finetune")
    assert tuned.timings["trainable_parameters"] > 10_000 and tuned.timings["train_examples_per_s"] > 0
    assert not (folder / "checkpoints").exists()  # removed once the result is written


def test_a_run_with_constant_predictions_is_flagged_in_its_result(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    from harness.runners.frozen import FrozenRunner

    monkeypatch.setattr(FrozenRunner, "predict", lambda self, examples, split="eval": np.full(len(examples), 2.5))
    evaluate(str(tiny_model_dir), tasks=["glue/stsb"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    result, folder = _result(tmp_path, "stsb", "frozen")
    assert np.isnan(result.scores["pearson"]) and np.isnan(result.scores["spearman"]) and np.isnan(result.main_score)
    assert [item["code"] for item in result.flags] == ["undefined_correlation"]
    raw = json.loads((folder / "result.json").read_text())
    assert raw["scores"]["pearson"] is None and raw["main_score"] is None  # undefined: null, never 0.00


def test_holdout_when_train_is_missing_and_official_refuses(tiny_model_dir, glue_dir, tmp_path):
    with pytest.raises(DataError, match="--split-strategy holdout"):
        evaluate(str(tiny_model_dir), tasks=["cola"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    evaluation = evaluate(str(tiny_model_dir), tasks=["cola"], mode="frozen", data_dir=glue_dir,
                          output_dir=tmp_path, split_strategy="holdout", **FAST)
    (result,) = evaluation.results
    assert result.split_strategy == "holdout" and result.num_train == 32 and result.num_eval == 8
    assert "holdout" in result.split_note or "80%" in result.split_note


def test_kfold_reports_mean_and_std_over_five_folds(tiny_model_dir, glue_dir, tmp_path):
    (result,) = evaluate(str(tiny_model_dir), tasks=["cola"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path,
                         split_strategy="kfold", **FAST).results
    assert result.split_strategy == "kfold" and result.num_eval == 40  # every example scored once
    assert set(result.scores_std) == {"mcc"}
    folds = {json.loads(line)["fold"] for line in
             (tmp_path / resolve_model(str(tiny_model_dir)).slug / "glue/cola/frozen-seed42/predictions.jsonl")
             .read_text().splitlines()}
    assert folds == {0, 1, 2, 3, 4}


def test_suite_skips_tasks_without_data_and_says_why(tiny_model_dir, glue_dir, tmp_path, caplog):
    import logging
    import re

    with caplog.at_level(logging.INFO, logger="harness"):
        evaluation = evaluate(str(tiny_model_dir), suite="glue", mode="frozen", data_dir=glue_dir, output_dir=tmp_path,
                              split_strategy="holdout", max_train_samples=16, **FAST)
    counted = [re.match(r"\[(\d+)/(\d+)\] ", message).groups() for message in caplog.messages
               if message.startswith("[")]
    assert counted == [(str(i), "4") for i in range(1, 5)]  # [1/4] ... [4/4]: tasks without data never counted
    ran = {r.task for r in evaluation.results}
    assert ran == {"cola", "mrpc", "sst2", "stsb"}
    assert {"glue/mnli", "glue/mnli_mismatched", "glue/ax", "glue/qnli", "glue/qqp", "glue/rte", "glue/wnli"} == set(
        evaluation.skipped)
    assert "glue/MNLI" in evaluation.skipped["glue/mnli"] or "validation" in evaluation.skipped["glue/mnli"]
    assert all(r.capped == {"max_train_samples": 16} for r in evaluation.results)


def test_resume_keeps_finished_results(tiny_model_dir, glue_dir, tmp_path):
    first = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    path = next(tmp_path.rglob("result.json"))
    before = path.read_bytes()
    again = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path,
                     resume=True, **FAST)
    assert path.read_bytes() == before
    assert again.results[0].scores == first.results[0].scores


def test_a_rerun_never_replaces_a_result_made_with_other_settings_unless_asked(tiny_model_dir, glue_dir, tmp_path,
                                                                                capsys, monkeypatch):
    evaluate(str(tiny_model_dir), tasks=["stsb"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    path = next(tmp_path.rglob("result.json"))
    before = path.read_bytes()
    argv = ["eval", "--model", str(tiny_model_dir), "--tasks", "stsb", "--mode", "frozen", "--data-dir", str(glue_dir),
            "--output-dir", str(tmp_path), "--device", "cpu", "--quiet", "--max-eval-samples", "16"]
    with monkeypatch.context() as patched:
        _never_trains(patched)
        for resume in ([], ["--resume"]):  # a plain rerun as well as --resume
            err = _one_line_exit_2(argv + resume, capsys)
            assert f"{path} was run with other settings: --max-eval-samples None (now 16)" in err
            assert "--overwrite" in err and path.read_bytes() == before
    # the same settings run again; --overwrite replaces the other settings' result
    evaluate(str(tiny_model_dir), tasks=["stsb"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    assert main(argv + ["--overwrite"]) == 0
    assert read_result(path).num_eval == 16


def test_results_go_to_runs_unless_told_where():
    import inspect

    from harness import api
    from harness.cli import build_parser

    assert build_parser().parse_args(["eval", "--suite", "glue"]).output_dir == "runs"
    assert inspect.signature(api.evaluate).parameters["output_dir"].default == "runs"


def test_argument_errors(tiny_model_dir, glue_dir, tmp_path):
    with pytest.raises(ConfigError, match="--mode"):
        evaluate(str(tiny_model_dir), tasks=["sst2"], mode="sideways", data_dir=glue_dir)
    with pytest.raises(TaskError, match="harness list tasks"):
        evaluate(str(tiny_model_dir), tasks=["glue/nope"], data_dir=glue_dir)
    with pytest.raises(ConfigError, match="--suite glue or --tasks"):
        evaluate(str(tiny_model_dir), data_dir=glue_dir)


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_lists_tasks_with_metrics_and_main_score(capsys):
    assert main(["list", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "glue/mrpc" in out and "accuracy + f1" in out and "glue/ax" in out and "r3" in out


def test_cli_errors_exit_2_without_traceback(capsys, glue_dir, tmp_path):
    assert main(["eval", "--tasks", "glue/nope", "--data-dir", str(glue_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: unknown task 'glue/nope'") and "Traceback" not in err
    assert main(["eval", "--tasks", "sst2", "--model", "no such/model here"]) == 2
    assert "neither an alias" in capsys.readouterr().err
    assert main(["eval", "--tasks", "sst2", "--data-dir", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_eval_then_leaderboard(tiny_model_dir, glue_dir, tmp_path, capsys):
    reports, boards = tmp_path / "reports", tmp_path / "boards"
    code = main(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2,mrpc", "--mode", "both",
                 "--data-dir", str(glue_dir), "--output-dir", str(reports), "--epochs", "1", "--min-steps", "0",
                 "--max-train-samples", "32", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("glue/sst2") == 2 and out.count("glue/mrpc") == 2
    assert main(["leaderboard", str(reports), "--out", str(boards)]) == 0
    board = (boards / "glue.md").read_text()
    assert "mrpc ‡" in board and "sst2 ‡" in board and f"`{tiny_model_dir.name}`" in board


def test_bad_label_in_a_file_names_file_and_line(tiny_model_dir, glue_dir, tmp_path, capsys):
    dev = glue_dir / "glue" / "SST-2" / "dev.tsv"
    lines = dev.read_text().splitlines()
    lines[3] = lines[3].rsplit("\t", 1)[0] + "\tpositive"
    dev.write_text("\n".join(lines) + "\n")
    assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--data-dir", str(glue_dir),
                 "--output-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "glue/SST-2/dev.tsv:4" in err and "'positive'" in err


def test_resume_continues_an_interrupted_finetune_from_its_checkpoint(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    import harness.api

    # Interrupt "after" training: the checkpoint stays, the result file is gone.
    monkeypatch.setattr(harness.api, "remove_checkpoints", lambda directory: None)
    evaluate(str(tiny_model_dir), tasks=["sst2"], mode="finetune", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    folder = next(tmp_path.rglob("finetune-seed42"))
    (folder / "result.json").unlink()
    assert [p.name for p in (folder / "checkpoints").glob("checkpoint-*")] == ["checkpoint-4"]  # 64 rows / batch 16
    monkeypatch.undo()
    (result,) = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="finetune", data_dir=glue_dir,
                         output_dir=tmp_path, resume=True, **FAST).results
    assert result.timings["resumed_from_step"] == 4
    assert (folder / "result.json").is_file() and not (folder / "checkpoints").exists()


def _write_mnli_files(glue_dir):
    """MNLI train/dev files and the labelled diagnostic, in their official column layouts."""
    mnli = glue_dir / "glue" / "MNLI"
    mnli.mkdir()
    labels = ["entailment", "neutral", "contradiction"]
    header = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tgold_label"
    for name, count in (("train.tsv", 30), ("dev_matched.tsv", 12), ("dev_mismatched.tsv", 9)):
        rows = [header] + [f"{i}\t{i}\t{i}\tfiction\tthe man plays .\tthe man sits .\t{labels[i % 3]}"
                           for i in range(count)]
        (mnli / name).write_text("\n".join(rows) + "\n")
    diagnostic = glue_dir / "glue" / "diagnostic"
    diagnostic.mkdir()
    rows = ["Lexical Semantics\tPredicate-Argument Structure\tLogic\tKnowledge\tDomain\tPremise\tHypothesis\tLabel"]
    rows += [f"\t\tNegation\t\tArtificial\tthe cat sits .\tthe cat runs .\t{labels[i % 3]}" for i in range(15)]
    (diagnostic / "diagnostic-full.tsv").write_text("\n".join(rows) + "\n")


def test_ax_and_mnli_mismatched_are_scored_with_the_mnli_model(tiny_model_dir, glue_dir, tmp_path):
    _write_mnli_files(glue_dir)
    evaluation = evaluate(str(tiny_model_dir), tasks=["ax", "mnli_mismatched"], mode="frozen", data_dir=glue_dir,
                          output_dir=tmp_path, **FAST)
    by_task = {r.task: r for r in evaluation.results}
    assert set(by_task) == {"mnli", "ax", "mnli_mismatched"}  # MNLI trained once, for both
    assert by_task["ax"].num_eval == 15 and set(by_task["ax"].scores) == {"r3"}
    assert by_task["mnli_mismatched"].num_eval == 9 and by_task["mnli"].num_eval == 12
    assert "glue/mnli" in by_task["ax"].split_note
    assert by_task["ax"].provenance["data"]["validation"]["path"] == "glue/diagnostic/diagnostic-full.tsv"


def test_hub_source_maps_columns_and_records_the_fingerprint(monkeypatch, tmp_path, tiny_model_dir):
    import datasets

    from harness.data.hub import load_hub_split
    from harness.tasks import REGISTRY

    calls = []

    def fake_load(path, name, split, revision=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict({"premise": ["a", "b"], "hypothesis": ["c", "d"], "label": [2, -1]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    split = load_hub_split(REGISTRY.get("mnli_mismatched"), "validation")
    assert calls == [("nyu-mll/glue", "mnli", "validation_mismatched")]
    assert split.examples[0] == {"id": "validation_mismatched:0", "text": "a", "text_pair": "c", "label": 2}
    assert split.examples[1]["label"] is None  # the Hub marks unlabelled rows with -1
    assert split.source["kind"] == "hub" and split.source["fingerprint"]


def test_an_unreachable_hub_stops_a_hub_dataset_in_one_line_without_retries(monkeypatch):
    import socket

    import datasets

    import harness.hub
    from harness.data.hub import load_hub_split
    from harness.tasks import REGISTRY

    def no_network(address, timeout):
        raise socket.gaierror(-2, "Name or service not known")

    for offline in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(offline)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: pytest.fail("asked the Hub"))
    harness.hub.hub_unreachable.cache_clear()
    try:
        with pytest.raises(DataError) as info:
            load_hub_split(REGISTRY.get("glue/rte"), "train")
    finally:
        harness.hub.hub_unreachable.cache_clear()
    assert str(info.value).startswith("glue/rte: cannot load nyu-mll/glue (rte) split 'train': the Hub is unreachable "
                                      "(huggingface.co:443: Name or service not known); pass --data-dir")


def test_hub_failure_tells_the_user_to_pass_a_data_dir(monkeypatch):
    import datasets

    from harness.data.hub import load_hub_split
    from harness.tasks import REGISTRY

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="--data-dir") as info:
        load_hub_split(REGISTRY.get("sst2"), "train")
    assert "cannot load nyu-mll/glue (sst2) split 'train' from the Hub" in str(info.value)  # words, not a dict


def test_kfold_finetune_trains_each_fold_from_scratch_and_sums_phase_times(tiny_model_dir, glue_dir, tmp_path,
                                                                           monkeypatch):
    import harness.api

    kept = []
    monkeypatch.setattr(harness.api, "remove_checkpoints", lambda directory: kept.append(directory))
    (result,) = evaluate(str(tiny_model_dir), tasks=["cola"], mode="finetune", data_dir=glue_dir, output_dir=tmp_path,
                         split_strategy="kfold", **FAST).results
    (folder,) = kept
    # one checkpoint folder per fold: no fold can resume from another fold's weights
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == [f"fold-{i}" for i in range(5)]
    assert result.num_eval == 40 and result.num_train == 32
    assert result.timings["training_s"] > 0 and result.timings["total_s"] >= result.timings["training_s"]


def test_listing_tasks_loads_no_torch():
    """`harness list tasks` must stay instant: no deep-learning stack imported to print a table."""
    import subprocess
    import sys

    code = ("import sys, harness.cli as cli; cli.main(['list', 'tasks']); "
            "sys.exit(3 if 'torch' in sys.modules or 'transformers' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "glue/sst2" in done.stdout


def test_a_frozen_rerun_from_the_cache_loads_neither_torch_nor_transformers(tiny_model_dir, glue_dir, tmp_path):
    """Pooled shapes' heads are sklearn's: once the features are cached (a task alone and a pair with its sides and
    the cosine), a second run reads them, its model's facts and the data without the deep-learning stack, and
    scores as the first did."""
    import subprocess
    import sys

    code = ("import json, sys, harness.cli as cli; code = cli.main(sys.argv[1:]); "
            "print(json.dumps(sorted({'torch', 'transformers'} & set(sys.modules)))); sys.exit(code)")
    env = {**os.environ, "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    loaded = []
    for run in ("first", "again"):
        argv = ["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2,glue/stsb", "--mode", "frozen",
                "--data-dir", str(glue_dir), "--output-dir", str(tmp_path / run), "--quiet"]
        done = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        loaded.append(json.loads(done.stdout.splitlines()[-1]))
    assert loaded == [["torch", "transformers"], []]
    for task in ("sst2", "stsb"):
        first, again = (read_result(next((tmp_path / run).rglob(f"{task}/frozen-seed42/result.json")))
                        for run in ("first", "again"))
        assert again.scores == first.scores and again.timings["extraction_s"] == 0 < first.timings["extraction_s"]
        assert again.provenance["device"]["device"] == "cpu" and "torch_threads" not in again.provenance["device"]


# --- bad input stops with one line, exit 2, before any compute, and writes no result ----------------------


def _no_result(root) -> bool:
    return not list(root.rglob("result.json")) if root.exists() else True


def _one_line_exit_2(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def _every_fit(monkeypatch, fit):
    """Every runner's fit replaced by `fit`."""
    from harness.runners.base import Runner

    runners, found = [Runner], []
    while runners:
        found.append(runners.pop())
        runners += found[-1].__subclasses__()
    for runner in found:
        monkeypatch.setattr(runner, "fit", fit)


def _never_trains(monkeypatch):
    """Any fit is a failure of the test: the error had to come before the compute."""
    _every_fit(monkeypatch, lambda self, examples: pytest.fail("trained before the error"))


def test_ctrl_c_in_the_api_says_how_to_continue_without_the_library_traceback(tiny_model_dir, glue_dir, tmp_path,
                                                                             monkeypatch, capsys):
    from harness.errors import Interrupted

    def pressed(self, examples):
        raise KeyboardInterrupt

    _every_fit(monkeypatch, pressed)
    with pytest.raises(Interrupted, match=r"^interrupted; finished results are kept: rerun with resume=True") as info:
        evaluate(str(tiny_model_dir), tasks=["stsb"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    assert isinstance(info.value, KeyboardInterrupt) and info.value.__suppress_context__  # no chained traceback
    assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "stsb", "--mode", "frozen", "--data-dir",
                 str(glue_dir), "--output-dir", str(tmp_path), "--quiet"]) == 130
    assert capsys.readouterr().err == "harness: interrupted; finished results are kept, rerun with --resume to continue\n"


@pytest.mark.parametrize("place", ["a file", "under a file"])
def test_an_output_dir_that_cannot_hold_results_stops_before_compute(place, tiny_model_dir, glue_dir, tmp_path, capsys,
                                                                      monkeypatch):
    _never_trains(monkeypatch)
    blocker = tmp_path / "reports.txt"
    blocker.write_text("mine")
    out = blocker if place == "a file" else blocker / "reports"
    err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--mode", "frozen",
                            "--data-dir", str(glue_dir), "--output-dir", str(out), "--quiet"], capsys)
    assert f"--output-dir {out}" in err
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize("argv, message", [
    (["--tasks", "mrpc", "--max-length", "1"], "--max-length 1 cannot hold "),
    (["--tasks", "mrpc", "--max-length", "4"], "use at least 5"),
    (["--tasks", "sst2", "--max-length", "551"], "--max-length 551 is beyond the 128 positions"),
    (["--tasks", "sst2", "--weight-decay", "-1"], "--weight-decay must be at least 0, got -1.0"),
    (["--tasks", "sst2", "--leaderboard-dir", "__FILE__"], "--leaderboard-dir "),
])
def test_options_the_model_or_disk_cannot_take_stop_before_compute(argv, message, tiny_model_dir, glue_dir, tmp_path,
                                                                    capsys, monkeypatch):
    _never_trains(monkeypatch)
    blocker = tmp_path / "board.md"
    blocker.write_text("mine")
    argv = [str(blocker) if arg == "__FILE__" else arg for arg in argv]
    err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--mode", "frozen", "--data-dir", str(glue_dir),
                            "--output-dir", str(tmp_path / "out"), "--quiet", *argv], capsys)
    assert message in err
    assert _no_result(tmp_path / "out")


def _sst2_train(glue_dir, labels: list[int]) -> None:
    rows = ["sentence\tlabel"] + [f"the movie was {'good' if label else 'bad'} .\t{label}" for label in labels]
    (glue_dir / "glue" / "SST-2" / "train.tsv").write_text("\n".join(rows) + "\n")


def test_a_single_class_train_set_stops_with_one_line_before_compute(tiny_model_dir, glue_dir, tmp_path, capsys,
                                                                      monkeypatch):
    _never_trains(monkeypatch)
    _sst2_train(glue_dir, [1] * 20)
    for mode in ("frozen", "finetune"):
        err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--mode", mode,
                                "--data-dir", str(glue_dir), "--output-dir", str(tmp_path), "--quiet"], capsys)
        assert "glue/sst2: all 20 training examples have the same label ('1')" in err
        assert "check the training data's labels" in err
    _sst2_train(glue_dir, [0, 1] * 10)  # a cap that happens to draw one class says which option to change
    err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--mode", "frozen",
                            "--data-dir", str(glue_dir), "--output-dir", str(tmp_path), "--quiet",
                            "--max-train-samples", "1"], capsys)
    assert "all 1 training examples have the same label" in err and "raise --max-train-samples (now 1)" in err
    assert _no_result(tmp_path)


def test_a_frozen_head_needs_two_examples_of_every_class_and_fine_tuning_does_not(tiny_model_dir, glue_dir, tmp_path,
                                                                                   capsys):
    _sst2_train(glue_dir, [1] * 19 + [0])
    err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--mode", "frozen",
                            "--data-dir", str(glue_dir), "--output-dir", str(tmp_path), "--quiet"], capsys)
    assert "glue/sst2: class '0' has a single training example; the frozen head's cross-validation" in err
    (result,) = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="finetune", data_dir=glue_dir,
                         output_dir=tmp_path, **FAST).results
    assert result.num_train == 20


def test_a_suite_that_runs_nothing_exits_2_with_reasons_in_words(tiny_model_dir, tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    err = _one_line_exit_2(["eval", "--model", str(tiny_model_dir), "--suite", "klue", "--data-dir", str(empty),
                            "--output-dir", str(tmp_path / "out"), "--quiet"], capsys)
    assert err.startswith("harness: error: no task of --suite klue could run (8 skipped): ")
    assert "klue/nli: no labelled validation split found; put the official klue/nli/" in err
    assert "read the Hub's klue/klue (nli) online, without --data-dir" in err
    assert "FileSplit(" not in err and "None" not in err
    assert _no_result(tmp_path / "out")


def test_a_local_folder_named_like_an_alias_never_takes_the_alias_results(tiny_model_dir, glue_dir, tmp_path):
    import shutil

    alias_run = tmp_path / "out" / "minilm" / "glue" / "sst2" / "frozen-seed42"
    alias_run.mkdir(parents=True)
    evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path / "first",
             **FAST)
    alias_result = next((tmp_path / "first").rglob("result.json"))
    raw = json.loads(alias_result.read_text())
    raw["model"], raw["main_score"] = "minilm", 99.0  # the alias's own, finished result
    (alias_run / "result.json").write_text(json.dumps(raw))
    shutil.copy(alias_result.parent / "predictions.jsonl", alias_run)
    local = shutil.copytree(tiny_model_dir, tmp_path / "minilm")
    (result,) = evaluate(str(local), tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path / "out",
                         resume=True, **FAST).results
    assert result.main_score != 99.0 and result.provenance["model"]["location"] == str(local)
    assert json.loads((alias_run / "result.json").read_text())["main_score"] == 99.0  # untouched
    assert (tmp_path / "out" / resolve_model(str(local)).slug / "glue" / "sst2" / "frozen-seed42" / "result.json").is_file()


def test_weights_that_cannot_be_loaded_safely_are_one_line(tiny_model_dir, glue_dir, tmp_path, capsys):
    import os
    import pickle
    import shutil

    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'ran'}",)

    bad = shutil.copytree(tiny_model_dir, tmp_path / "bad")
    (bad / "model.safetensors").unlink()
    (bad / "pytorch_model.bin").write_bytes(pickle.dumps(RunsCode()))
    err = _one_line_exit_2(["eval", "--model", str(bad), "--tasks", "sst2", "--mode", "finetune", "--data-dir",
                            str(glue_dir), "--output-dir", str(tmp_path / "out"), "--quiet"], capsys)
    assert f"{bad}: the weights could not be loaded safely (UnpicklingError" in err
    assert not (tmp_path / "ran").exists() and _no_result(tmp_path / "out")
