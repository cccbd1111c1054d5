"""Suite-level progress: a line per work unit with its estimate from measured throughput, and quiet model loads."""
from __future__ import annotations

import logging
import re

import pytest

from harness import evaluate
from harness.config import RunConfig
from harness.data.splits import Fold, SplitPlan
from harness.learning_rate import search_steps
from harness.models import ModelRef
from harness.progress import Progress, duration
from harness.results import RunResult, run_dir, write_run
from harness.work_units import WorkUnit

MODEL = ModelRef("m", "", None)  # results under <output-dir>/m; no weights to size a first fine-tune by
FAST = dict(epochs=1, min_steps=0, batch_size=16, quiet=True, device="cpu")


def _result(task: str, mode: str, num_train: int, num_eval: int, timings: dict, train_size=None,
            **recipe) -> RunResult:
    suite, name = task.split("/")
    return RunResult(suite=suite, task=name, task_version=1, model="m", mode=mode, seed=1, scores={"x": 1.0},
                     main_score=1.0, split_strategy="official", num_train=num_train, num_eval=num_eval,
                     provenance={"hyperparameters": recipe}, timings=timings, train_size=train_size)


def _measured(out, task: str, mode: str, num_train: int, num_eval: int, timings: dict, train_size=None,
              **recipe) -> None:
    result = _result(task, mode, num_train, num_eval, timings, train_size, **recipe)
    write_run(run_dir(out, "m", result.suite, result.task, mode, 1, train_size), result, [])


def _rows(train: int, eval_: int) -> SplitPlan:
    return SplitPlan("official", [Fold([{}] * train, [{}] * eval_)], {}, "")


def test_estimates_scale_each_phase_of_earlier_runs_and_say_what_they_cannot_estimate(tmp_path, caplog):
    # fine-tuning: 0.5 s per step (1,000 rows x 2 epochs at batch 10), 0.1 s per evaluated example, 5 s fixed
    _measured(tmp_path, "glue/sst2", "finetune", 1000, 100,
              {"training_s": 100.0, "evaluation_s": 10.0, "total_s": 115.0}, epochs=2, batch_size=10)
    # frozen: SST-2's features came from the cache (nothing to scale extraction from); STS-B's were extracted
    _measured(tmp_path, "glue/sst2", "frozen", 1000, 100, {"training_s": 20.0, "extraction_s": 0.0, "total_s": 21.0})
    _measured(tmp_path, "glue/stsb", "frozen", 1000, 200,
              {"training_s": 10.0, "extraction_s": 36.0, "evaluation_s": 0.0, "total_s": 47.0})
    units = [WorkUnit("glue/sst2", "frozen", 1, None), WorkUnit("glue/sst2", "finetune", 1, None),
             WorkUnit("glue/stsb", "frozen", 1, None), WorkUnit("glue/mrpc", "frozen", 1, None),
             WorkUnit("glue/rte", "frozen", 1, None)]
    config = RunConfig(epochs=1, batch_size=10, min_steps=0, max_train_samples=400, seed=1)
    caplog.set_level(logging.INFO, logger="harness")
    progress = Progress(units, tmp_path, MODEL, config)
    progress.read("glue/sst2", _rows(400, 100))
    progress.starting(units[0], config)
    # SST-2 frozen: extraction at STS-B's 0.03 s per example (500), its own head at 0.02 s per row (400), 1 s fixed
    # = 24 s; SST-2 fine-tuned: (40 steps + its learning-rate search's 4 rates x 10 steps, timed by no earlier run,
    # at the final run's pace) x 0.5 + 100 x 0.1 + 5 = 55 s; STS-B frozen, its size from its earlier uncapped run cut
    # to the cap (400 + 200 rows): 18 + 4 + 1 = 23 s (102 s in all); RTE: neither its size nor a run to go by.
    assert caplog.messages[-1] == ("[1/5] glue/sst2 frozen, 400 train rows, est. 24 s; at least 2 min left in all "
                                   "(2 unit(s) with nothing to scale from yet)")
    ran = _result("glue/sst2", "frozen", 400, 100, {"training_s": 40.0, "extraction_s": 0.0, "total_s": 40.0})
    progress.finished(units[0], ran)
    count = len(caplog.messages)
    progress.starting(units[1], config, kept=True)  # --resume keeps it: no line, and no longer counted
    assert len(caplog.messages) == count
    progress.not_running([units[2]])  # e.g. no data for it
    progress.read("glue/mrpc", _rows(300, 100))
    progress.starting(units[3], config)
    # no MRPC run to go by: this run's SST-2 head (0.1 s per row) before earlier runs' heads, x 300 = 30 s; this
    # run timed no extraction, so STS-B's earlier one does (0.03 s x 400 = 12 s); this run's SST-2: 0 s fixed
    assert caplog.messages[-1] == ("[2/3] glue/mrpc frozen, 300 train rows, est. 42 s; at least 42 s left in all "
                                   "(1 unit(s) with nothing to scale from yet)")


def test_a_curve_extracts_its_task_once_and_is_measured_by_the_inputs_it_encoded(tmp_path, caplog):
    # STS-B: 0.03 s per encoded input (1,000 + 200); an older curve unit of SST-2 timed its whole train split's
    # extraction (353 s) without saying how many inputs that was: its head and fixed time count, its extraction not
    _measured(tmp_path, "glue/stsb", "frozen", 1000, 200, {"training_s": 10.0, "extraction_s": 36.0, "total_s": 47.0})
    _measured(tmp_path, "glue/sst2", "frozen", 100, 500, {"training_s": 1.0, "extraction_s": 353.0, "total_s": 355.0},
              train_size=100)
    units = [WorkUnit("glue/sst2", "frozen", 1, size) for size in (100, 1000, None)]
    config = RunConfig(min_steps=0, seed=1)
    caplog.set_level(logging.INFO, logger="harness")
    progress = Progress(units, tmp_path, MODEL, config)
    progress.read("glue/sst2", _rows(5000, 500))
    progress.starting(units[0], config)
    # size 100 encodes all 5,000 + 500 inputs (165 s), fits 100 rows at SST-2's own 0.01 s (1 s), 1 s fixed;
    # the sizes after it read the cache: 1,000 rows 11 s, all 5,000 rows 51 s
    assert caplog.messages[-1] == ("[1/3] glue/sst2 frozen, train size 100, 100 train rows, est. 3 min; "
                                   "about 4 min left in all")
    assert progress.estimates() == pytest.approx([11.0, 51.0])
    # that unit, run again, recorded the 5,500 inputs it encoded: measured by it alone, 0.01 s per input
    _measured(tmp_path / "counted", "glue/sst2", "frozen", 100, 500,
              {"training_s": 1.0, "extraction_s": 55.0, "extracted_inputs": 5500, "total_s": 57.0}, train_size=100)
    again = Progress(units, tmp_path / "counted", MODEL, config)
    again.read("glue/sst2", _rows(5000, 500))
    assert again.estimates()[0] == pytest.approx(55.0 + 1.0 + 1.0)


def test_a_capped_run_sizes_a_task_it_has_not_read_yet_by_its_caps(tmp_path):
    units = [WorkUnit("glue/sst2", "frozen", 1, None), WorkUnit("glue/stsb", "frozen", 1, None)]
    config = RunConfig(max_train_samples=1000, max_eval_samples=500, seed=1)
    progress = Progress(units, tmp_path, MODEL, config)
    progress.read("glue/sst2", _rows(1000, 500))
    progress.starting(units[0], config)
    ran = _result("glue/sst2", "frozen", 1000, 500,
                  {"training_s": 10.0, "extraction_s": 15.0, "extracted_inputs": 1500, "total_s": 26.0})
    progress.finished(units[0], ran)
    # STS-B, its data not read: 1,500 inputs at 0.01 s, a head on 1,000 rows at 0.01 s, 1 s fixed
    assert progress.estimates() == pytest.approx([26.0])
    progress.config = config.replace(max_eval_samples=None)  # a cap short: its size is not known
    assert progress.estimates() == [None]


def test_each_unit_gets_a_line_before_it_starts_and_resume_counts_only_what_runs(tiny_model_dir, glue_dir, tmp_path,
                                                                                caplog):
    caplog.set_level(logging.INFO, logger="harness")
    run = dict(tasks=["sst2", "stsb"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, **FAST)
    evaluate(str(tiny_model_dir), **run)
    lines = [message for message in caplog.messages if message.startswith("[")]
    assert lines[0] == "[1/2] glue/sst2 frozen, 64 train rows, est. unknown; time left unknown"
    assert lines[1].startswith("[2/2] glue/stsb frozen, 64 train rows, est. ") and "about" in lines[1]
    caplog.clear()
    evaluate(str(tiny_model_dir), resume=True, **run)
    assert caplog.messages[0] == "0 work unit(s) to run; 2 finished earlier and kept (--resume)"
    assert not [message for message in caplog.messages if message.startswith("[")]
    caplog.clear()
    evaluate(str(tiny_model_dir), **run)  # no --resume: both run again, each estimated from its earlier result
    lines = [message for message in caplog.messages if message.startswith("[")]
    assert len(lines) == 2 and "unknown" not in " ".join(lines) and "about" in lines[0]


@pytest.fixture
def transformers_says_everything():
    """transformers at its default verbosity with its bars on (a --quiet run earlier in the session turns them off)."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_warning()
    hf_logging.enable_progress_bar()
    yield
    hf_logging.set_verbosity(level)
    if not bars:
        hf_logging.disable_progress_bar()


def test_loading_a_model_under_a_new_head_shows_no_load_report_nor_bar(tiny_model_dir, capfd, caplog,
                                                                       transformers_says_everything):
    from transformers import AutoModelForSequenceClassification

    from harness.models import load_model, resolve_model

    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)  # what transformers says alone
    assert "LOAD REPORT" in caplog.text and "Loading weights" in capfd.readouterr().err
    caplog.clear()
    load_model(resolve_model(str(tiny_model_dir)), AutoModelForSequenceClassification, num_labels=2)
    assert "LOAD REPORT" not in caplog.text and "Loading weights" not in capfd.readouterr().err
    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    assert "LOAD REPORT" in caplog.text  # only harness's own loads are quiet


@pytest.mark.parametrize("seconds, text", [(42.4, "42 s"), (89, "89 s"), (360, "6 min"), (5369, "89 min"),
                                           (5400, "1 h 30 min"), (3900, "65 min"), (7500, "2 h 05 min")])
def test_durations_read_as_people_say_them(seconds, text):
    assert duration(seconds) == text


def test_a_fine_tune_draws_one_bar_with_its_steps_loss_and_time_left_and_quiet_draws_nothing(tiny_model_dir, glue_dir,
                                                                                             tmp_path, capfd):
    run = dict(tasks=["sst2"], mode="finetune", data_dir=glue_dir, learning_rate=1e-3, epochs=3, min_steps=0,
               batch_size=16, device="cpu")
    evaluate(str(tiny_model_dir), output_dir=tmp_path / "shown", **run)
    shown = capfd.readouterr()
    # 64 rows at batch 16 for 3 epochs: 12 steps; Trainer logs the loss at step 10, and the bar shows it with the
    # steps done, the time spent and the time left (tqdm: [spent<left, rate])
    assert re.search(r"fine-tune lr 0.001: +\d+%\|[^|]*\| 10/12 \[\d\d:\d\d<\d\d:\d\d, +[\d.?]+s?(/step|step/s), "
                     r"loss=\d+\.\d+\]", shown.err), shown.err[-2000:]
    assert "predict" in shown.err
    assert "{'" not in shown.out + shown.err and "'loss'" not in shown.out + shown.err  # no dictionaries printed
    assert "Writing model shards" not in shown.err  # nor transformers' bar of each checkpoint it writes
    evaluate(str(tiny_model_dir), output_dir=tmp_path / "quiet", quiet=True, **run)
    quiet = capfd.readouterr()
    assert "fine-tune" not in quiet.err and "loss" not in quiet.out + quiet.err


# the tiny BERT's weights outside its embedding tables: 2 layers x (4 attention projections of 32 x 32 + 32, a layer
# norm of 64, 32 -> 64 and 64 -> 32 feed-forward layers, a layer norm of 64) + the 32 x 32 + 32 pooler
TINY_WEIGHTS = 2 * (4 * (32 * 32 + 32) + 64 + (32 * 64 + 64) + (64 * 32 + 32) + 64) + 32 * 32 + 32


def test_a_models_weights_are_counted_from_its_file_without_its_embedding_tables(tiny_model_dir):
    from harness.models import resolve_model, weight_count

    assert weight_count(resolve_model(str(tiny_model_dir))) == TINY_WEIGHTS == 18_144
    assert weight_count(resolve_model("majority")) is None


def test_a_first_fine_tune_is_estimated_from_the_models_size_its_steps_and_the_search(tiny_model_dir, tmp_path):
    from harness.models import resolve_model

    units = [WorkUnit("glue/sst2", "finetune", 1, None)]
    model = resolve_model(str(tiny_model_dir))
    given = RunConfig(epochs=1, batch_size=16, min_steps=0, max_length=128, learning_rate=1e-4, seed=1)

    def estimate(config: RunConfig) -> float | None:
        progress = Progress(units, tmp_path, model, config)
        progress.read("glue/sst2", _rows(64, 32))
        return progress.estimates()[0]

    assert estimate(given) is None  # no run on this machine has measured its FLOP/s yet
    # another model's frozen run measured 1e9 FLOP/s of feature extraction
    frozen = _result("glue/rte", "frozen", 10, 10, {"extraction_s": 2.0, "training_s": 0.1, "total_s": 3.0})
    frozen.compute = {"flops": 2e9, "flops_by_phase": {"extraction": 2e9}, "method": "counted"}
    write_run(run_dir(tmp_path, "other", "glue", "rte", "frozen", 1, None), frozen, [])
    # 4 steps of 16 examples, 6 FLOPs per weight and token, 128 tokens each; 32 evaluated at 2 FLOPs
    assert estimate(given) == pytest.approx(TINY_WEIGHTS * 128 * (6 * 4 * 16 + 2 * 32) / 1e9)
    assert estimate(given.replace(epochs=3)) == pytest.approx(TINY_WEIGHTS * 128 * (6 * 12 * 16 + 2 * 32) / 1e9)
    # --learning-rate unset: each of the 4 rates first trains learning_rate.search_steps' steps (its least here)
    searched = given.replace(learning_rate=None)
    per_rate = search_steps(searched, 16)
    assert per_rate >= 1
    assert estimate(searched) == pytest.approx(TINY_WEIGHTS * 128 * (6 * (4 + 4 * per_rate) * 16 + 2 * 32) / 1e9)
    # a fine-tune's training measures the machine better than extraction does: 5e8 FLOP/s
    tuned = _result("glue/rte", "finetune", 10, 10, {"training_s": 4.0, "evaluation_s": 0.1, "total_s": 5.0})
    tuned.compute = {"flops": 2e9, "flops_by_phase": {"training": 2e9}, "method": "counted"}
    write_run(run_dir(tmp_path, "other", "glue", "rte", "finetune", 1, None), tuned, [])
    assert estimate(given) == pytest.approx(TINY_WEIGHTS * 128 * (6 * 4 * 16 + 2 * 32) / 5e8)


def test_a_searched_fine_tune_is_scaled_by_the_search_an_earlier_run_timed_and_its_time_is_not_fixed_cost(tmp_path):
    # SST-2 fine-tuned earlier: 40 steps in 20 s; its search, 4 rates x 30 steps, in 120 s (1 s a step: each rate
    # also builds a model and predicts a holdout); 10 s evaluating 100; 5 s else (the search's time is not in those)
    search = {"grid": [2e-5, 5e-5, 1e-4, 2e-4], "steps_per_rate": 30, "search_s": 119.9}
    _measured(tmp_path, "glue/sst2", "finetune", 400, 100,
              {"training_s": 20.0, "learning_rate_search_s": 120.0, "evaluation_s": 10.0, "total_s": 155.0},
              epochs=1, batch_size=10, chosen={"learning_rate": 1e-4, "learning_rate_search": search})
    units = [WorkUnit("glue/sst2", "finetune", 1, None)]
    config = RunConfig(epochs=2, batch_size=10, min_steps=0, seed=1)
    progress = Progress(units, tmp_path, MODEL, config)
    progress.read("glue/sst2", _rows(400, 100))
    # 80 steps x 0.5 s + the search's 4 x search_steps (its floor, 10, at 80 final steps) x 1 s + 100 x 0.1 s + 5 s
    assert progress.estimates() == [pytest.approx(40 + 4 * search_steps(config, 400) + 10 + 5)]
    progress.config = config.replace(learning_rate=1e-4)
    assert progress.estimates() == [pytest.approx(40 + 10 + 5)]
