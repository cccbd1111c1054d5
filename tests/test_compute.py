"""The floating-point work a run records: counted per input shape, checked against torch's FlopCounterMode."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import (AutoModelForSequenceClassification, BertConfig, MPNetConfig, XLMRobertaConfig)

from harness import evaluate
from harness.flops import PHASES, PhaseFlops, counting_fits, flop_counter, linear_fit_flops, mlp_fit_flops
from harness.heads.pooled_probes import CS, CV_FOLDS, fit_head
from harness.report import render_report

SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
             max_position_embeddings=80, vocab_size=100, num_labels=3)
CONFIGS = {"bert": BertConfig, "mpnet": MPNetConfig, "xlm-r": XLMRobertaConfig}  # MiniLM, all-mpnet, e5's kinds


def _model(kind: str):
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(CONFIGS[kind](**SMALL))


def _batch(size: int, length: int) -> dict:
    return {"input_ids": torch.randint(5, 100, (size, length)), "attention_mask": torch.ones(size, length, dtype=int)}


def _reference(kind: str, batch: dict, train: bool) -> int:
    """FlopCounterMode's count of one forward pass (and its backward, with `train`) of an unhooked model."""
    model = _model(kind).train(train)
    with flop_counter() as counter, torch.set_grad_enabled(train):
        output = model(**batch, labels=torch.zeros(len(batch["input_ids"]), dtype=int))
        if train:
            output.loss.backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_forward_and_training_counts_match_flop_counter_mode(kind):
    model = _model(kind)
    counted = PhaseFlops(lambda backward: "training" if backward else "evaluation")
    counted.watch(model)
    labels = torch.zeros(4, dtype=int)
    with torch.no_grad():
        model.eval()(**_batch(4, 24), labels=labels)
        model(**_batch(4, 24), labels=labels)  # a shape already counted: counted again, the same
    forward = _reference(kind, _batch(4, 24), train=False)
    assert counted.by_phase["evaluation"] == pytest.approx(2 * forward, rel=0.05)
    model.train()(**_batch(4, 40), labels=labels).loss.backward()
    assert counted.by_phase["training"] == pytest.approx(_reference(kind, _batch(4, 40), train=True), rel=0.05)


def test_a_bert_forward_is_twice_its_weights_per_token_plus_attention():
    """The count is the textbook one: 2 FLOPs per weight per token through each layer, and the attention
    scores and their weighted sum (2 x 2 x length^2 x width per layer)."""
    batch, length, h, i, layers = 4, 24, SMALL["hidden_size"], SMALL["intermediate_size"], SMALL["num_hidden_layers"]
    tokens = batch * length
    per_layer = 2 * tokens * (4 * h * h + 2 * h * i) + 4 * batch * length ** 2 * h
    head = 2 * batch * (h * h + h * SMALL["num_labels"])  # pooler and classifier, once per sequence
    assert _reference("bert", _batch(batch, length), train=False) == layers * per_layer + head


def test_every_fit_of_a_head_search_is_counted_with_its_own_iterations():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 6)), rng.integers(0, 3, 120)
    with counting_fits() as fits:
        head, _ = fit_head(x, y, regression=False, seed=0)
    assert len(fits) == len(CS) * CV_FOLDS + 1  # each C on each inner fold, then the head on all of train
    assert fits[-1] == linear_fit_flops(120, 6, 3, int(head[-1].n_iter_.max()))
    assert len(set(fits[:-1])) > 1  # the fits ran for different numbers of iterations


def test_runs_record_their_compute_per_phase(tiny_model_dir, glue_dir, tmp_path):
    run = dict(tasks=["glue/sst2"], data_dir=glue_dir, quiet=True, device="cpu", epochs=1, min_steps=0)
    frozen, tuned = evaluate(str(tiny_model_dir), mode="both", output_dir=tmp_path / "a", **run).results
    for result in (frozen, tuned):
        assert set(result.compute["flops_by_phase"]) == set(PHASES)
        assert result.compute["flops"] == pytest.approx(sum(result.compute["flops_by_phase"].values()))
    spent = frozen.compute["flops_by_phase"]
    assert spent["extraction"] > 0 and spent["head"] > 0 and spent["evaluation"] > 0 and spent["training"] == 0
    spent = tuned.compute["flops_by_phase"]
    assert spent["training"] > 0 and spent["evaluation"] > 0 and spent["extraction"] == spent["head"] == 0
    # an example trained (one epoch) costs forward and backward, 3x an example evaluated (padding aside)
    assert 2.5 < (spent["training"] / 64) / (spent["evaluation"] / 32) < 3.5
    again, = evaluate(str(tiny_model_dir), mode="frozen", output_dir=tmp_path / "b", **run).results
    # features read back from the cache count what computing them cost: compute does not depend on the cache
    assert again.compute["flops_by_phase"]["extraction"] == frozen.compute["flops_by_phase"]["extraction"]
    assert "cache" not in again.compute["method"]
    folder = next((tmp_path / "a").rglob("frozen-seed42"))
    shown = render_report(folder)
    assert "## Compute" in shown and f"| extraction | {frozen.compute['flops_by_phase']['extraction']:.3g} |" in shown
    assert "## Tokenizer fit" in shown and "| unknown tokens | 0.00% |" in shown


def test_an_mlp_head_counts_its_epochs_forward_and_backward(tiny_model_dir, glue_dir, tmp_path):
    result, = evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="frozen", head="mlp", data_dir=glue_dir,
                       output_dir=tmp_path, quiet=True, device="cpu", pair_features="joint", layers="last").results
    width = (result.timings["trainable_parameters"] - 257) // 257  # width x 256 + 256, then 256 x 1 + 1 (2 classes)
    head = result.compute["flops_by_phase"]["head"]
    # whole epochs (no layer search with --layers last), between 1 and build_mlp's max_iter (300) of them
    assert mlp_fit_flops(64, [width, 256, 1], 1) <= head <= mlp_fit_flops(64, [width, 256, 1], 300)
    assert head / mlp_fit_flops(64, [width, 256, 1], 1) == int(head / mlp_fit_flops(64, [width, 256, 1], 1))


def test_a_report_of_a_result_older_than_the_measures_says_they_were_not_recorded(tiny_model_dir, glue_dir, tmp_path):
    evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path,
             quiet=True, device="cpu")
    path = next(tmp_path.rglob("result.json"))
    old = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("compute", "tokenizer_fit")}
    path.write_text(json.dumps(old))
    shown = render_report(path.parent)
    assert "predates the count" in shown and "predates the measure" in shown
