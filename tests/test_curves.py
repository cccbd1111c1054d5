"""Learning curves: nested seeded train subsets, both modes per size, one extraction, the crossover size."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from harness import evaluate
from harness.cli import main
from harness.config import RunConfig
from harness.curves import Curve, CurvePoint, crossover_text, curve_table
from harness.data.sizes import clamp_sizes, nested_order, sized_plan
from harness.data.splits import Fold, SplitPlan
from harness.results import ResultSet
from harness.runners.features import FeatureCache
from harness.runners.finetune import MAX_EPOCHS, train_epochs
from harness.tasks import REGISTRY
from harness.uncertainty import Interval

FAST = dict(epochs=1, min_steps=0, batch_size=16, quiet=True, device="cpu")


def _examples(n: int, classes: int = 2) -> list[dict]:
    return [{"id": str(i), "text": f"t{i}", "label": (i * 7) % classes} for i in range(n)]


@pytest.mark.parametrize("seed", [13, 42, 87])
def test_every_smaller_size_is_inside_the_next_and_keeps_the_class_balance(seed):
    task = REGISTRY.get("glue/sst2")
    train = [ex for ex in _examples(1000) if ex["label"] == 1 or int(ex["id"]) % 3]  # imbalanced: about 2:1
    plan = SplitPlan("official", [Fold(train, _examples(10))])
    subsets = [{ex["id"] for ex in sized_plan(task, plan, size, seed).folds[0].train} for size in (10, 30, 100, 300)]
    for smaller, larger in zip(subsets, subsets[1:]):
        assert smaller < larger
    assert [len(s) for s in subsets] == [10, 30, 100, 300]
    share = np.mean([ex["label"] for ex in train])
    for size in (30, 100, 300):
        drawn = sized_plan(task, plan, size, seed).folds[0].train
        assert abs(np.mean([ex["label"] for ex in drawn]) - share) <= 1.5 / size + 1e-9  # within a member
    other_seed = {ex["id"] for ex in sized_plan(task, plan, 100, seed + 1).folds[0].train}
    assert other_seed != subsets[2]  # seeded: another seed draws another subset
    assert sized_plan(task, plan, 100, seed).folds[0].eval == plan.folds[0].eval  # evaluation untouched


def test_regression_and_untagged_orders_are_seeded_permutations():
    stsb = REGISTRY.get("glue/stsb")
    examples = [{"id": str(i), "label": i / 20} for i in range(100)]
    order = nested_order(stsb, examples, 3)
    assert sorted(order) == list(range(100)) and np.array_equal(order, nested_order(stsb, examples, 3))


def test_a_size_beyond_the_train_split_runs_as_the_full_split_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="harness"):
        assert clamp_sizes([300, 100, 500, None, 100], 400, "glue/sst2") == [100, 300, None]
    assert "train size 500 is not below the 400 training examples" in caplog.text


def _point(n, frozen, tuned, low, high, size=None):
    return CurvePoint(size if size is not None else n, n, {"frozen": frozen, "finetune": tuned},
                      {"frozen": 1, "finetune": 1}, {}, Interval(tuned - frozen, low, high))


def test_crossover_is_the_smallest_size_from_which_fine_tuning_wins_with_the_interval_above_zero():
    points = [_point(100, 70, 60, -14, -6), _point(300, 72, 74, -1, 5), _point(1000, 75, 80, 2, 8),
              _point(3000, 76, 84, 6, 10), _point(10000, 77, 88, 9, 13, size=None)]
    assert Curve("m", "glue", "sst2", points).crossover.train_examples == 1000
    # a win at one size that does not hold at a larger one is no crossover from there
    dips = points[:2] + [_point(1000, 75, 80, 2, 8), _point(3000, 80, 81, -1, 3), points[4]]
    assert Curve("m", "glue", "sst2", dips).crossover.train_examples == 10000
    never = [_point(100, 70, 60, -14, -6), _point(1000, 75, 76, -1, 3)]
    curve = Curve("m", "glue", "sst2", never)
    assert curve.crossover is None and "none within the sizes run" in crossover_text(curve)
    table = "\n".join(curve_table(Curve("m", "glue", "sst2", points)))
    assert "| 1,000 | 75.00 | 80.00 | +5.00 [2.00, 8.00] |" in table and "Crossover: 1,000" in table


def test_min_steps_raises_the_epochs_of_small_train_sets_only():
    config = RunConfig(epochs=4, batch_size=32, min_steps=300)
    assert train_epochs(config, 100) == 75  # 4 steps an epoch
    assert train_epochs(config, 67349) == 4
    assert train_epochs(config, 3) == MAX_EPOCHS  # capped
    assert train_epochs(RunConfig(epochs=4, batch_size=32, min_steps=0), 100) == 4


def test_curve_runs_both_modes_per_size_reuses_one_extraction_and_renders(tiny_model_dir, glue_dir, tmp_path,
                                                                          monkeypatch):
    from harness.runners import features

    extracted = []
    real = features.extract_features
    monkeypatch.setattr(features, "extract_features",
                        lambda model, tokenizer, examples, **kw: extracted.append(len(examples)) or
                        real(model, tokenizer, examples, **kw))
    out = tmp_path / "reports"
    evaluation = evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="both", data_dir=glue_dir, output_dir=out,
                          train_sizes=[16, 32, None], cache=FeatureCache(tmp_path / "cache"),  # nothing cached yet
                          **{**FAST, "min_steps": 8})
    assert [(r.mode, r.train_size, r.num_train) for r in evaluation.results] == [
        ("frozen", 16, 16), ("finetune", 16, 16), ("frozen", 32, 32), ("finetune", 32, 32),
        ("frozen", None, 64), ("finetune", None, 64)]
    assert sorted(extracted) == [32, 64]  # dev and the full train split, once: the sizes slice it
    small = [r for r in evaluation.results if r.mode == "finetune" and r.train_size == 16][0]
    assert small.provenance["hyperparameters"]["chosen"]["epochs"] == 8  # 1 step an epoch, --min-steps 8
    folders = sorted(p.parent.name for p in out.rglob("result.json"))
    assert folders == ["finetune-seed42", "finetune-seed42-n16", "finetune-seed42-n32",
                       "frozen-seed42", "frozen-seed42-n16", "frozen-seed42-n32"]
    results = ResultSet.load(out)
    assert len(results.runs) == 2 and len(results.curve_runs) == 4  # leaderboard tables see the full runs only

    assert main(["leaderboard", str(out), "--out", str(tmp_path / "boards")]) == 0
    board = (tmp_path / "boards" / "glue.md").read_text()
    assert "## Data efficiency" in board and "| 16 |" in board and "| 64 (all) |" in board
    assert "Crossover:" in board


def test_cli_prints_the_plan_and_writes_the_task_curve(tiny_model_dir, glue_dir, tmp_path, capsys):
    out = tmp_path / "reports"
    code = main(["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2", "--mode", "frozen",
                 "--data-dir", str(glue_dir), "--output-dir", str(out), "--train-sizes", "16,all,1000",
                 "--seeds", "1,2", "--quiet", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 task(s) x 3 sizes (16, 1,000, all) x 1 mode(s) x 2 seed(s)" in printed
    assert "no estimate" in printed
    curve = next(out.rglob("curve.md")).read_text()
    assert "| 16 | " in curve and "(mean of 2 seeds)" in curve
    assert sorted(p.parent.name for p in out.rglob("result.json")) == [
        "frozen-seed1", "frozen-seed1-n16", "frozen-seed2", "frozen-seed2-n16"]  # 1,000 > 64: run as all


def test_bad_train_sizes_stop_before_any_compute(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--tasks", "glue/sst2", "--train-sizes", "100,lots"])
    assert info.value.code == 2 and "100,1000,all" in capsys.readouterr().err
    assert main(["eval", "--tasks", "glue/sst2", "--train-sizes", "0,100"]) == 2
    assert "--train-sizes must be at least 1" in capsys.readouterr().err


def test_resume_judges_a_finished_run_by_the_settings_its_mode_reads():
    from harness.api import _differing
    from harness.results import RunResult

    before = RunConfig(epochs=4, batch_size=32).as_dict()
    before.pop("min_steps")  # a result from before --min-steps existed

    def finished(num_train: int) -> RunResult:
        return RunResult(suite="glue", task="sst2", task_version=1, model="m", mode="finetune", seed=42, scores={},
                         main_score=0.0, split_strategy="official", num_train=num_train, num_eval=1,
                         provenance={"hyperparameters": before}, timings={})

    full = finished(67349)
    curve = RunConfig(epochs=4, batch_size=32, min_steps=300)
    assert _differing(full, "finetune", curve) == []  # 67,349 examples: 300 steps change nothing
    small = finished(100)
    assert _differing(small, "finetune", curve) == ["--min-steps 0 (now 300): 4 epochs (now 75)"]
    assert _differing(small, "frozen", curve.replace(learning_rate=3e-5)) == []  # frozen reads no fine-tuning knob
    assert _differing(small, "frozen", curve.replace(layers="last")) == ["--layers auto (now last)"]
