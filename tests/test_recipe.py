"""The fine-tuning recipe matched to the model and the task: the pooling a model declares, and a learning rate
chosen on an inner holdout of train (never the evaluation split), cached for reruns."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.api import evaluate
from harness.config import LEARNING_RATES, RunConfig
from harness.learning_rate import MIN_STEPS, SEARCH_SHARE, final_steps, search_steps
from harness.models import declared_pooling, finetune_pooling, resolve_model
from harness.runners.features import FeatureCache
from harness.runners.finetune import FinetuneRunner
from harness.tasks import REGISTRY

FAST = dict(mode="finetune", batch_size=16, eval_batch_size=16, min_steps=0, epochs=2.0, quiet=True, device="cpu")


def _sentence_transformers_folder(tiny_model_dir: Path, folder: Path, **modes) -> Path:
    """A copy of the tiny model laid out as sentence-transformers saves one, its pooling declared in 1_Pooling."""
    shutil.copytree(tiny_model_dir, folder)
    flags = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
             **modes}
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **flags}))
    return folder


@pytest.mark.parametrize("modes, declared", [({"pooling_mode_mean_tokens": True}, "mean"),
                                             ({"pooling_mode_cls_token": True}, "cls"),
                                             ({"pooling_mode_max_tokens": True}, None),
                                             ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}, None)])
def test_a_models_declared_pooling_is_read_from_its_1_pooling_config(tiny_model_dir, tmp_path, modes, declared):
    ref = resolve_model(str(_sentence_transformers_folder(tiny_model_dir, tmp_path / "st", **modes)))
    assert declared_pooling(ref) == declared
    assert finetune_pooling("auto", ref) == (declared or "pooler")
    assert finetune_pooling("cls", ref) == "cls"  # an explicit value overrides what the model declares


def test_a_model_that_declares_nothing_keeps_its_checkpoints_head(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    assert declared_pooling(ref) is None and finetune_pooling("auto", ref) == "pooler"


def test_a_hub_model_whose_pooling_file_is_not_cached_declares_nothing_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hub-cache"))
    assert declared_pooling(resolve_model("sentence-transformers/all-MiniLM-L6-v2")) is None


def test_fine_tuning_uses_and_records_the_declared_pooling(tiny_model_dir, glue_dir, tmp_path):
    from harness.heads.pooled_classifier import PooledClassifier

    model = _sentence_transformers_folder(tiny_model_dir, tmp_path / "st", pooling_mode_mean_tokens=True)
    runner = FinetuneRunner(REGISTRY.get("glue/sst2"), resolve_model(str(model)), RunConfig(quiet=True, device="cpu"),
                            tmp_path / "checkpoints")
    assert isinstance(runner.model, PooledClassifier) and runner.model.pooling == "mean"
    (result,) = evaluate(str(model), tasks=["sst2"], data_dir=glue_dir, output_dir=tmp_path / "out",
                         learning_rate=1e-3, **FAST).results
    assert result.provenance["hyperparameters"]["finetune_pooling"] == "mean"


def test_search_steps_are_a_share_of_the_final_runs_with_a_floor():
    config = RunConfig(epochs=1.0, min_steps=0, batch_size=32)
    assert search_steps(config, 67_349) == 2105 // 5 // len(LEARNING_RATES)  # SST-2: a fifth of 2105 steps
    assert search_steps(config, 320) == MIN_STEPS


@pytest.mark.parametrize("examples", [40, 600, 2_490, 3_668, 5_749, 67_349, 392_702])
def test_the_searchs_steps_are_at_most_its_share_of_the_final_runs_under_the_defaults(examples):
    """RTE, MRPC, STS-B, SST-2, MNLI and capped sizes: the grid's steps together stay within SEARCH_SHARE of the
    final run's, and within a step per rate of it (the floor never raises them above it under the defaults, which
    give 200 final steps at least)."""
    config = RunConfig()
    final, grid = final_steps(config, examples), len(config.learning_rate_grid)
    assert final >= 200 and SEARCH_SHARE == 0.2
    assert SEARCH_SHARE * final - grid < search_steps(config, examples) * grid <= SEARCH_SHARE * final


class _Fixed:
    """A runner whose predictions on the holdout are given per rate: the search's choice alone is tested."""

    def __init__(self, predictions):
        self.predictions = predictions

    def fit(self, train):
        pass

    def predict(self, examples, split="eval"):
        return self.predictions


@pytest.mark.parametrize("right, chosen, within", [
    # which of the 300 held-out examples each rate predicts right (a range of positions)
    ({2e-5: (0, 300), 5e-5: (0, 300), 1e-4: (0, 300), 2e-4: (0, 300)}, 5e-5, ["2e-05", "5e-05", "0.0001", "0.0002"]),
    ({2e-5: (0, 50), 5e-5: (0, 300), 1e-4: (0, 300), 2e-4: (0, 300)}, 1e-4, ["5e-05", "0.0001", "0.0002"]),
    ({2e-5: (0, 150), 5e-5: (0, 150), 1e-4: (10, 205), 2e-4: (0, 200)}, 1e-4, ["0.0001", "0.0002"]),  # 195 vs 200
    ({2e-5: (0, 150), 5e-5: (0, 150), 1e-4: (0, 150), 2e-4: (0, 200)}, 2e-4, ["0.0002"]),  # a clear best, alone
])
def test_rates_within_noise_of_the_best_take_their_lower_median(tmp_path, right, chosen, within):
    from harness.data.splits import inner_holdout
    from harness.learning_rate import _search

    task = REGISTRY.get("glue/sst2")
    train = [{"id": str(i), "text": f"film {i}", "label": i % 2} for i in range(2_000)]
    _, held = inner_holdout(task, train, 42, 0.15)  # the search's own holdout
    labels = np.array([example["label"] for example in held])

    def build(config, folder):
        start, stop = right[config.learning_rate]
        hit = (np.arange(len(held)) >= start) & (np.arange(len(held)) < stop)
        return _Fixed(np.where(hit, labels, 1 - labels))

    def accuracy(examples, predictions):
        return 100 * float(np.mean(predictions == np.array([example["label"] for example in examples])))

    record = _search(task, train, RunConfig(), build, accuracy, tmp_path)
    search = record["learning_rate_search"]
    assert len(held) == search["inner_holdout"] == 300 and search["search_steps_share"] <= SEARCH_SHARE
    assert record["learning_rate"] == chosen and search["within_noise"] == within
    assert ("within noise" in search["reason"]) == (len(within) > 1)


def test_a_search_where_no_rate_scores_takes_the_middle_rate_and_says_so(tmp_path):
    """Regression: every rate predicting one class on CoLA's inner holdout leaves MCC undefined for all; the search
    then chose the lowest rate as if it had scored best (all-mpnet-base-v2's CoLA fine-tune, inner scores all null)."""
    from harness.learning_rate import _search

    task = REGISTRY.get("glue/cola")
    train = [{"id": str(i), "text": f"sentence {i}", "label": i % 2} for i in range(600)]

    def build(config, folder):
        return _Fixed(np.ones(len(held), dtype=int))

    def mcc(examples, predictions):
        return float("nan")  # one class predicted throughout: undefined

    from harness.data.splits import inner_holdout

    _, held = inner_holdout(task, train, 42, 0.15)
    record = _search(task, train, RunConfig(), build, mcc, tmp_path)
    search = record["learning_rate_search"]
    assert record["learning_rate"] == sorted(search["grid"])[len(search["grid"]) // 2] == 1e-4
    assert "no rate's main score is defined" in search["reason"] and "middle rate" in search["reason"]


def _poisoned(data: Path) -> Path:
    """The SST-2 dev file with every label flipped."""
    dev = data / "glue" / "SST-2" / "dev.tsv"
    header, *rows = dev.read_text().splitlines()
    flipped = [f"{text}\t{1 - int(label)}" for text, label in (row.rsplit("\t", 1) for row in rows)]
    dev.write_text("\n".join([header, *flipped]) + "\n")
    return data


def _without_cost(chosen: dict) -> dict:
    return {**chosen, "learning_rate_search": {k: v for k, v in chosen["learning_rate_search"].items() if k != "search_s"}}


def test_the_learning_rate_is_chosen_on_train_alone_and_cached(tiny_model_dir, glue_dir, tmp_path):
    grid = [2e-3, 5e-3]  # both learn in the final run, whichever the tie rule picks
    settings = dict(tasks=["sst2"], data_dir=glue_dir, learning_rates=grid, **{**FAST, "epochs": 10.0})
    (clean,) = evaluate(str(tiny_model_dir), output_dir=tmp_path / "clean", cache=FeatureCache(tmp_path / "a"),
                        **settings).results
    chosen = clean.provenance["hyperparameters"]["chosen"]
    search = chosen["learning_rate_search"]
    assert chosen["learning_rate"] in grid and search["grid"] == grid and set(search["inner_scores"]) == {"0.002", "0.005"}
    assert search["inner_holdout"] + search["inner_train"] == clean.num_train and search["inner_holdout"] > 0
    assert clean.provenance["hyperparameters"]["learning_rate"] is None
    assert clean.timings["learning_rate_search_s"] > 0

    (poisoned,) = evaluate(str(tiny_model_dir), output_dir=tmp_path / "poisoned", cache=FeatureCache(tmp_path / "b"),
                           **{**settings, "data_dir": _poisoned(glue_dir)}).results
    assert _without_cost(poisoned.provenance["hyperparameters"]["chosen"]) == _without_cost(chosen)  # never saw eval
    assert poisoned.main_score != clean.main_score  # they did reach the score

    (again,) = evaluate(str(tiny_model_dir), output_dir=tmp_path / "again", cache=FeatureCache(tmp_path / "a"),
                        **settings).results
    assert again.provenance["hyperparameters"]["chosen"] == chosen
    assert again.timings["learning_rate_search_s"] < search["search_s"] / 5  # read back, not searched again


def test_a_given_learning_rate_searches_nothing(tiny_model_dir, glue_dir, tmp_path):
    (result,) = evaluate(str(tiny_model_dir), tasks=["sst2"], data_dir=glue_dir, output_dir=tmp_path,
                         learning_rate=1e-3, **FAST).results
    assert "learning_rate_search_s" not in result.timings
    assert "learning_rate" not in result.provenance["hyperparameters"].get("chosen", {})
    assert result.provenance["hyperparameters"]["learning_rate"] == 1e-3


# --- every recipe reported as it ran ------------------------------------------------------------


def _runs_row(board: str, task: str, mode: str) -> list[str]:
    runs = board.split("## Runs", 1)[1]
    row = next(line for line in runs.splitlines() if line.startswith("| `") and f"| {task} | {mode} |" in line)
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_a_runs_table_row_is_the_recipe_its_result_ran(tiny_model_dir, glue_dir, tmp_path):
    """A run whose epochs --min-steps raised and whose rate was chosen on train: the leaderboard's recipe is read
    from its result.json (epochs, steps, chosen rate, batch size, pooling), not from the defaults."""
    from harness.leaderboard import write_leaderboards
    from harness.report import render_report
    from harness.results import read_result

    model = _sentence_transformers_folder(tiny_model_dir, tmp_path / "st", pooling_mode_mean_tokens=True)
    evaluate(str(model), tasks=["sst2"], data_dir=glue_dir, output_dir=tmp_path / "reports",
             learning_rates=[1e-4, 3e-3], **{**FAST, "min_steps": 20})
    result = read_result(next((tmp_path / "reports").rglob("finetune-seed42")) / "result.json")
    settings = result.provenance["hyperparameters"]
    chosen = settings["chosen"]
    assert chosen["reason"] == "--min-steps 20" and chosen["epochs"] > settings["epochs"]  # raised: 4 steps an epoch
    write_leaderboards(tmp_path / "reports", tmp_path / "boards")
    recipe = _runs_row((tmp_path / "boards" / "glue.md").read_text(), "sst2", "finetune")[9]
    assert recipe == (f"{chosen['epochs']:g} ep ({result.timings['train_steps']} steps), "
                      f"lr {chosen['learning_rate']:g} (chosen on train), bs {settings['batch_size']}, "
                      f"{settings['finetune_pooling']}-pooled")
    assert result.timings["train_steps"] == 20 and settings["finetune_pooling"] == "mean"
    report = render_report(next((tmp_path / "reports").rglob("finetune-seed42")))
    for row in (f"| epochs | {chosen['epochs']:g} |", "| optimisation steps | 20 |", "| pooling | mean |",
                f"| learning rate | {chosen['learning_rate']:g} (chosen on train) |"):
        assert row in report


def test_recipes_of_results_written_before_steps_and_rates_were_recorded():
    """Committed results (WSC's raised epochs; a k-fold run's per-fold list) render what they ran, '–' for what
    they never recorded."""
    from harness.results import RunResult
    from harness.results.recipe import trained_recipe

    def result(chosen, **settings):
        return RunResult(suite="superglue", task="wsc", task_version=1, model="m", mode="finetune", seed=42,
                         scores={}, main_score=0.0, split_strategy="official", num_train=554, num_eval=104,
                         timings={}, provenance={"hyperparameters": {"epochs": 4.0, "learning_rate": 1e-4,
                                                                     "batch_size": 32, **settings, "chosen": chosen}})

    raised = {"epochs": 17.0, "reason": "--min-steps 300"}
    assert trained_recipe(result(raised, finetune_pooling="pooler")).text() == "17 ep, lr 0.0001, bs 32, pooler head"
    folds = [{"epochs": 60.0, "reason": "--min-steps 300", "learning_rate": rate} for rate in (5e-5, 5e-5, 1e-4)]
    assert trained_recipe(result(folds, learning_rate=None)).text(pooled=False) == \
        "60 ep, lr 5e-05/0.0001 (chosen on train), bs 32"


def test_a_train_set_too_small_to_hold_out_takes_the_grids_middle_rate(tmp_path):
    from harness.learning_rate import choose_learning_rate

    train = [{"id": str(i), "text": "a good film", "label": i % 2} for i in range(10)]

    def never(*args):
        raise AssertionError("nothing is trained to choose among rates")

    record = choose_learning_rate(REGISTRY.get("glue/sst2"), train, RunConfig(), model="m", cache=FeatureCache(tmp_path),
                                  build=never, score=never, workdir=tmp_path / "search")
    assert record["learning_rate"] == 1e-4 and "too few" in record["learning_rate_search"]["reason"]


def test_learning_rates_on_the_command_line(capsys):
    from harness.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["eval", "--tasks", "sst2", "--learning-rates", "1e-4,fast"])
    assert stopped.value.code == 2 and "comma-separated numbers such as 2e-5,1e-4" in capsys.readouterr().err
    assert RunConfig(learning_rates=[3e-5, 1e-4]).learning_rate_grid == (3e-5, 1e-4)
    assert RunConfig().learning_rate_grid == LEARNING_RATES


def test_resume_names_an_unset_learning_rate_as_help_does():
    from harness.config import differing_settings

    assert differing_settings({"learning_rate": 1e-4}, RunConfig()) == ["--learning-rate 0.0001 (now chosen on train)"]
