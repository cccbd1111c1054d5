"""Baselines: the majority baseline (`--model majority`, each shape's rule from train) and random-weights controls
(`--model random:<model>`), each an ordinary result that records its model_kind."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import assert_evaluate_metric_reproduces

from harness.api import evaluate, plan_units
from harness.cli import main
from harness.errors import ConfigError, ModelError
from harness.metrics.klue import compute_dp_scores, compute_tagging_scores
from harness.models import (MAJORITY, PRETRAINED, RANDOM_INIT, encoding_fingerprint, load_model, load_tokenizer,
                            resolve_model, vocab_files, weights_fingerprint)
from harness.results import RESULT_FILE, read_result
from harness.results.frame import NO_MODEL, results_frame
from harness.shapes import shape_of
from harness.shapes.tags import tagged_example
from harness.tasks import REGISTRY


def _baseline(task_id: str, train: list[dict], examples: list[dict]):
    task = REGISTRY.get(task_id)
    shape = shape_of(task)
    predictions = shape.baseline(task, train)(examples)
    return predictions, shape.score(task, examples, predictions, None)


def _labelled(labels) -> list[dict]:
    return [{"id": str(i), "label": label} for i, label in enumerate(labels)]


# --- each shape's rule, scored against a hand computation ---------------------------------------------


def test_classification_predicts_the_most_frequent_training_class():
    # train: 3 positive, 2 negative; eval: 2 of 5 positive -> accuracy 40
    predictions, scores = _baseline("glue/sst2", _labelled([1, 0, 1, 1, 0]), _labelled([1, 0, 0, 1, 0]))
    assert predictions.tolist() == [1] * 5
    assert scores == {"accuracy": pytest.approx(40.0)}


def test_a_tie_between_classes_goes_to_the_first_class():
    predictions, _ = _baseline("glue/sst2", _labelled([1, 0, 0, 1]), _labelled([1]))
    assert predictions.tolist() == [0]


def test_regression_predicts_the_training_mean_and_its_correlations_are_undefined():
    """A constant has no correlation with anything: Pearson and Spearman are undefined (NaN, written as null),
    never a number that was not measured; KLUE-STS's thresholded F1 of a constant below 3.0 is 0."""
    predictions, scores = _baseline("glue/stsb", _labelled([1.0, 2.0, 4.5]), _labelled([0.5, 3.0, 4.0]))
    assert predictions.tolist() == [2.5, 2.5, 2.5]
    assert math.isnan(scores["pearson"]) and math.isnan(scores["spearman"])
    _, klue = _baseline("klue/sts", _labelled([1.0, 2.0, 4.5]), _labelled([0.5, 3.0, 4.0]))
    assert math.isnan(klue["pearson"]) and klue["sts_binary_f1"] == 0.0


def test_choices_pick_the_first_candidate():
    examples = [{"id": str(i), "text": "t", "choices": ["a", "b"], "choice_names": ["a", "b"], "label": [gold]}
                for i, gold in enumerate([0, 1, 1, 1])]
    predictions, scores = _baseline("superglue/copa", examples, examples)
    assert predictions.tolist() == [0, 0, 0, 0]
    assert scores["accuracy"] == pytest.approx(25.0)


def test_spans_answer_nothing_which_is_right_for_the_unanswerable_questions():
    examples = [{"id": str(i), "label": answers} for i, answers in enumerate([[], ["서울"], []])]
    predictions, scores = _baseline("klue/mrc", [], examples)
    assert predictions == ["", "", ""]
    assert scores == {"mrc_exact_match": pytest.approx(200 / 3), "mrc_rouge_w": pytest.approx(200 / 3)}


def test_relations_get_the_training_shares_as_probabilities():
    task = REGISTRY.get("klue/re")
    predictions, scores = _baseline("klue/re", _labelled([0, 0, 1, 2]), _labelled([0, 1, 1]))
    expected = np.zeros(len(task.labels))
    expected[:3] = [0.5, 0.25, 0.25]
    assert np.allclose(predictions, np.tile(expected, (3, 1)))
    assert scores["re_micro_f1"] == 0.0  # no_relation everywhere: no relation is found


def test_tags_are_each_characters_most_frequent_training_tag():
    task = REGISTRY.get("klue/ner")
    tag = task.label_ids

    def sentence(i, text, tags):
        return tagged_example(task, str(i), list(text), [tag[t] for t in tags])

    train = [sentence(0, "가나다", ["B-PS", "I-PS", "O"]), sentence(1, "가다", ["B-PS", "O"]),
             sentence(2, "라마", ["O", "O"])]
    examples = [sentence(3, "가나라", ["B-PS", "I-PS", "O"]), sentence(4, "나가바", ["O", "O", "O"])]
    predictions, scores = _baseline("klue/ner", train, examples)
    # 바 was never seen: the most frequent tag of all, O
    assert [p.tolist() for p in predictions] == [[tag["B-PS"], tag["I-PS"], tag["O"]],
                                                 [tag["I-PS"], tag["B-PS"], tag["O"]]]
    # strict IOB2: the stray I-PS starts no entity, so 2 entities predicted, 1 gold, 1 right: F1 = 2/3
    assert scores["ner_entity_macro_f1"] == pytest.approx(200 / 3)
    assert scores == compute_tagging_scores(task.metrics, predictions, [ex["label"] for ex in examples],
                                            [ex["chars"] for ex in examples], task.labels)


def test_arcs_follow_the_most_frequent_head_offset_and_relations():
    task = REGISTRY.get("klue/dp")

    def sentence(heads, deprels):
        return {"id": "s", "words": [f"w{i}" for i in range(len(heads))], "heads": heads, "deprels": deprels}

    # offsets +1, +1, +2, +1: the next word is the head; roots are VP, other words mostly NP_SBJ
    train = [sentence([2, 3, 0], ["NP_SBJ", "NP_OBJ", "VP"]), sentence([3, 3, 0], ["NP_SBJ", "NP_AJT", "VP"])]
    examples = [sentence([4, 3, 4, 0], ["NP_SBJ", "DP", "NP_OBJ", "VP"])]
    (heads,), (relations,) = (predicted := _baseline("klue/dp", train, examples)[0])
    assert heads.tolist() == [2, 3, 4, 0]  # the last word's next word lies outside: the root
    assert [task.labels[r] for r in relations] == ["NP_SBJ", "NP_SBJ", "NP_SBJ", "VP"]
    index = task.label_ids
    expected = compute_dp_scores(task.metrics, [[2, 3, 4, 0]], [[4, 3, 4, 0]],
                                 [[index[r] for r in ["NP_SBJ", "NP_SBJ", "NP_SBJ", "VP"]]],
                                 [[index[r] for r in examples[0]["deprels"]]], task.labels)
    assert shape_of(task).score(task, examples, predicted, None) == expected


# --- majority runs as an ordinary result ------------------------------------------------------------


def test_majority_runs_once_as_frozen_writes_every_task_and_its_predictions_rescore(glue_dir, tmp_path):
    out = tmp_path / "runs"
    assert [u.mode for u in plan_units(["glue/sst2"], mode="both", model=MAJORITY).units] == ["frozen"]
    evaluation = evaluate(MAJORITY, tasks=["glue/sst2", "glue/stsb", "glue/mrpc"], mode="both", data_dir=glue_dir,
                          output_dir=out)
    assert [(r.task, r.mode, r.model, r.model_kind) for r in evaluation.results] == [
        (task, "frozen", "majority", MAJORITY) for task in ("sst2", "stsb", "mrpc")]
    sst2 = evaluation.results[0]
    dev = (glue_dir / "glue" / "SST-2" / "dev.tsv").read_text().splitlines()[1:]
    train = [int(line.rsplit("\t", 1)[1]) for line in (glue_dir / "glue" / "SST-2" / "train.tsv").read_text().splitlines()[1:]]
    majority = max(sorted(set(train)), key=train.count)
    gold = [int(line.rsplit("\t", 1)[1]) for line in dev]
    assert sst2.scores["accuracy"] == pytest.approx(100 * gold.count(majority) / len(gold))
    assert sst2.timings["trainable_parameters"] == 0
    assert math.isnan(evaluation.results[1].main_score)  # STS-B: a constant's correlation is undefined
    assert set(results_frame(evaluation.results)["recipe"]) == {NO_MODEL}  # never a head it did not train
    for task in ("sst2", "stsb", "mrpc"):
        result_file = out / "majority" / "glue" / task / "frozen-seed42" / RESULT_FILE
        assert json.loads(result_file.read_text())["model_kind"] == MAJORITY
        assert_evaluate_metric_reproduces(result_file, tmp_path)


def test_majority_with_text_to_text_views_needs_a_bertscore_model(glue_dir, tmp_path):
    with pytest.raises(ConfigError, match="--bertscore-model"):
        evaluate(MAJORITY, tasks=["glue/sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path, format="n2m")


def test_a_result_without_model_kind_reads_as_pretrained(glue_dir, tmp_path):
    evaluate(MAJORITY, tasks=["glue/sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path)
    path = tmp_path / "majority" / "glue" / "sst2" / "frozen-seed42" / RESULT_FILE
    raw = json.loads(path.read_text())
    del raw["model_kind"]
    path.write_text(json.dumps(raw))
    assert read_result(path).model_kind == PRETRAINED


@pytest.mark.integration
def test_majority_through_the_cli_on_real_rte_and_resume_keeps_it(shared_data, tmp_path):
    """RTE's train split has 1,249 entailment of 2,490, so entailment is predicted: 146 of the 277 dev pairs."""
    args = ["eval", "--model", "majority", "--tasks", "glue/rte", "--data-dir", str(shared_data),
            "--output-dir", str(tmp_path), "--quiet"]
    assert main(args) == 0
    path = tmp_path / "majority" / "glue" / "rte" / "frozen-seed42" / RESULT_FILE
    result = read_result(path)
    assert result.scores["accuracy"] == pytest.approx(100 * 146 / 277)
    assert (result.model, result.model_kind, result.num_train, result.num_eval) == ("majority", MAJORITY, 2490, 277)
    written = path.stat().st_mtime_ns
    assert main(args + ["--resume", "--head", "mlp", "--max-length", "64"]) == 0  # settings no baseline reads
    assert path.stat().st_mtime_ns == written
    assert main(args + ["--resume", "--max-train-samples", "100"]) == 2  # one it reads: stops, as for any run


# --- random-weights controls -----------------------------------------------------------------------


def _state(model) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def test_random_control_has_the_architecture_with_fresh_weights_fixed_by_the_seed(tiny_model_dir):
    pretrained = resolve_model(str(tiny_model_dir))
    control = resolve_model(f"random:{tiny_model_dir}")
    assert (control.name, control.kind) == (f"random:{tiny_model_dir.name}", RANDOM_INIT)
    assert ":" not in control.slug and control.slug != pretrained.slug
    original = _state(load_model(pretrained))
    torch.manual_seed(123)
    first = _state(load_model(control.seeded(1)))
    torch.manual_seed(456)  # whatever ran before, the seed alone fixes the weights
    again = _state(load_model(control.seeded(1)))
    other = _state(load_model(control.seeded(2)))
    assert first.keys() == original.keys()
    matrices = [name for name, tensor in original.items() if tensor.dim() == 2]
    assert all(not torch.equal(first[name], original[name]) for name in matrices)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert all(not torch.equal(first[name], other[name]) for name in matrices)


def test_random_control_keys_its_features_and_fingerprint_by_its_seed(tiny_model_dir):
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    refs = [resolve_model(str(tiny_model_dir)), resolve_model(f"random:{tiny_model_dir}").seeded(1),
            resolve_model(f"random:{tiny_model_dir}").seeded(2)]
    keys = {encoding_fingerprint(ref, vocab_files(tokenizer), weights_fingerprint(ref)) for ref in refs}
    assert len(keys) == 3
    assert weights_fingerprint(refs[1])["random_init_seed"] == 1


def test_random_control_runs_and_is_recorded_as_its_own_model(tiny_model_dir, glue_dir, tmp_path):
    evaluation = evaluate(f"random:{tiny_model_dir}", tasks=["glue/sst2"], mode="frozen", data_dir=glue_dir,
                          output_dir=tmp_path, seed=7)
    result = evaluation.results[0]
    assert (result.model, result.model_kind) == (f"random:{tiny_model_dir.name}", RANDOM_INIT)
    assert result.provenance["model"]["random_init_seed"] == 7
    slug = resolve_model(f"random:{tiny_model_dir}").slug
    assert (tmp_path / slug / "glue" / "sst2" / "frozen-seed7" / RESULT_FILE).is_file()


@pytest.mark.parametrize("name", ["random:", "random:majority", "random:random:minilm"])
def test_random_of_no_model_is_refused(name):
    with pytest.raises(ModelError, match="random:"):
        resolve_model(name)


def test_random_control_of_a_hub_id_reads_only_its_config(tiny_model_dir, monkeypatch):
    """`random:org/name` asks the Hub for the config alone (here served from the tiny folder), never the weights."""
    from transformers import AutoConfig

    import harness.models as models

    real_load, asked = models._load, []

    def hub(auto_class, ref, **kwargs):
        asked.append(auto_class)
        if auto_class is not AutoConfig:
            raise AssertionError(f"{auto_class.__name__} loaded from the Hub")
        return real_load(auto_class, resolve_model(str(tiny_model_dir)), **kwargs)

    monkeypatch.setattr(models, "_load", hub)
    control = resolve_model("someorg/tiny-bert", "main")
    random = resolve_model("random:someorg/tiny-bert", "main").seeded(3)
    assert (random.name, random.hub_id, random.slug, random.revision) == ("random:someorg/tiny-bert", "someorg/tiny-bert",
                                                                         "random_someorg_tiny-bert", "main")
    assert control.slug != random.slug
    weights = _state(load_model(random))
    monkeypatch.setattr(models, "_load", real_load)
    local = _state(load_model(resolve_model(f"random:{tiny_model_dir}").seeded(3)))
    assert asked == [AutoConfig] and all(torch.equal(weights[name], local[name]) for name in local)
