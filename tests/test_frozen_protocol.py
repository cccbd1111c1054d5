"""Frozen mode's pooled protocol: every layer cached once, pairs also encoded side by side, heads and layers
chosen on train only."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from harness import evaluate
from harness.config import RunConfig
from harness.data.splits import group_ids, load_splits, plan_splits
from harness.errors import ConfigError
from harness.formats.n21 import single_texts
from harness.heads.pooled_probes import layer_candidates, pair_features, select_layers
from harness.models import load_model, load_tokenizer, pool, resolve_model
from harness.results import read_result
from harness.runners.features import FeatureCache, FeatureExtractor
from harness.runners.frozen import FrozenRunner
from harness.tasks import REGISTRY

FAST = dict(epochs=1, min_steps=0, batch_size=16, quiet=True, device="cpu")


def test_every_layer_is_pooled_once_and_any_layer_choice_reads_it(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    model, tokenizer = load_model(ref), load_tokenizer(ref)
    texts = ["the film was good", "a dog sits on the mat ."]
    with torch.inference_mode():
        batch = tokenizer(texts, return_tensors="pt", padding=True)
        hidden = model(**batch, output_hidden_states=True).hidden_states
        states = torch.stack([pool(hidden, batch["attention_mask"], "mean", str(i)) for i in range(len(hidden))], 1)
    states = states.numpy()
    assert states.shape == (2, 3, 32)  # embeddings and two layers
    for spec in ("last", "-2", "last2-mean", "last2-concat"):
        expected = pool(hidden, batch["attention_mask"], "mean", spec).numpy()
        np.testing.assert_allclose(select_layers(states, spec), expected, atol=1e-6)
    np.testing.assert_allclose(select_layers(states, "last3-mean"), states.mean(1))
    np.testing.assert_allclose(select_layers(states, "last3-concat"), states.reshape(2, -1))
    assert layer_candidates(3) == ["0", "1", "2", "last3-mean", "last3-concat"]
    with pytest.raises(ConfigError, match="lacks"):
        select_layers(states, "-4")


def test_pair_features_are_joint_then_each_side_and_their_interactions():
    joint, u, v = np.full((1, 2), 9.0), np.array([[1.0, -2.0]]), np.array([[3.0, 4.0]])
    assert pair_features(joint, u, v).tolist() == [[9, 9, 1, -2, 3, 4, 2, 6, 3, -8]]
    assert pair_features(None, u, v).tolist() == [[1, -2, 3, 4, 2, 6, 3, -8]]
    assert pair_features(joint, None, None).tolist() == [[9, 9]]


def _stsb_runner(tiny_model_dir, glue_dir, tmp_path, **settings):
    task = REGISTRY.get("glue/stsb")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", 42, None, None)
    config = RunConfig(quiet=True, device="cpu", **settings)
    extractor = FeatureExtractor(resolve_model(str(tiny_model_dir)), config, FeatureCache(tmp_path / "cache"))
    return FrozenRunner(task, extractor), plan.folds[0]


def test_separate_pair_features_are_each_side_encoded_alone(tiny_model_dir, glue_dir, tmp_path):
    runner, fold = _stsb_runner(tiny_model_dir, glue_dir, tmp_path, pair_features="separate", layers="last")
    runner.layer = "last"
    features = runner.features(fold.eval, "eval")
    ref = resolve_model(str(tiny_model_dir))
    model, tokenizer = load_model(ref), load_tokenizer(ref)
    with torch.inference_mode():
        sides = []
        for field in ("text", "text_pair"):
            alone = [ex["text"] for ex in single_texts(fold.eval, field)]
            vectors = []
            for text in alone:  # one sentence at a time: no padding, no pair
                batch = tokenizer([text], return_tensors="pt")
                hidden = model(**batch, output_hidden_states=True).hidden_states
                vectors.append(pool(hidden, batch["attention_mask"], "mean", "last")[0].numpy())
            sides.append(np.stack(vectors))
    u, v = sides
    assert features.shape == (len(fold.eval), 4 * 32)
    np.testing.assert_allclose(features, np.concatenate([u, v, np.abs(u - v), u * v], axis=1), atol=1e-5)


def test_choices_are_made_on_train_alone(tiny_model_dir, glue_dir, tmp_path):
    """Poisoned eval labels change nothing the runner chooses: the inner CV never reads them."""
    runner, fold = _stsb_runner(tiny_model_dir, glue_dir, tmp_path)
    runner.fit(fold.train)
    poisoned = [{**ex, "label": 5.0 - ex["label"]} for ex in fold.eval]
    again, _ = _stsb_runner(tiny_model_dir, glue_dir, tmp_path / "again")  # its own cache: a search of its own
    again.fit(fold.train)
    again.predict(poisoned)
    assert runner.choices == again.choices
    assert set(runner.choices) == {"pair_features", "layer", "layer_cv_score", "alpha"}
    assert runner.choices["layer"] in layer_candidates(3)


def test_a_second_frozen_run_with_other_head_settings_reads_the_cached_extraction(tiny_model_dir, glue_dir,
                                                                                  tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    first = evaluate(str(tiny_model_dir), tasks=["glue/mrpc"], mode="frozen", data_dir=glue_dir,
                     output_dir=tmp_path / "a", cache=cache, **FAST).results[0]
    files = sorted(cache.root.glob("*.npy"))
    assert first.timings["extraction_s"] > 0 and len(files) == 6  # train and eval: the pair and each side
    second = evaluate(str(tiny_model_dir), tasks=["glue/mrpc"], mode="frozen", data_dir=glue_dir,
                      output_dir=tmp_path / "b", cache=cache, layers="last", pair_features="joint", head="mlp",
                      **FAST).results[0]
    assert second.timings["extraction_s"] == 0 and sorted(cache.root.glob("*.npy")) == files
    recorded = read_result(next((tmp_path / "a").rglob("result.json"))).provenance["hyperparameters"]
    assert recorded["layers"] == "auto" and recorded["chosen"]["pair_features"] == "both"
    assert recorded["chosen"]["layer"] in layer_candidates(3) and recorded["chosen"]["C"] > 0


def test_an_identical_rerun_reads_the_searchs_choices_and_fits_the_same_head(tiny_model_dir, glue_dir, tmp_path,
                                                                             monkeypatch):
    from harness.heads import pooled_probes
    from harness.runners import frozen

    cache = FeatureCache(tmp_path / "cache")
    run = dict(tasks=["glue/mrpc"], mode="frozen", data_dir=glue_dir, cache=cache, **FAST)
    first = evaluate(str(tiny_model_dir), output_dir=tmp_path / "a", **run).results[0]
    (record,) = cache.root.glob("search-*.json")

    def no_search(*args, **kwargs):
        raise AssertionError("searched again although an identical search was recorded")

    monkeypatch.setattr(pooled_probes, "_search_c", no_search)
    monkeypatch.setattr(frozen, "choose_layer", no_search)
    again = evaluate(str(tiny_model_dir), output_dir=tmp_path / "b", **run).results[0]
    assert again.scores == first.scores
    assert again.provenance["hyperparameters"]["chosen"] == first.provenance["hyperparameters"]["chosen"]
    with pytest.raises(AssertionError, match="searched again"):  # another seed is another search
        evaluate(str(tiny_model_dir), output_dir=tmp_path / "c", **{**run, "seed": 7})
    record.write_text('{"layer": "../etc", "C": -1}')  # not what a search records: searched again
    with pytest.raises(AssertionError, match="searched again"):
        evaluate(str(tiny_model_dir), output_dir=tmp_path / "d", **run)


def test_a_plausible_hand_edited_choice_record_fails_its_integrity_check_and_is_searched_again(
        tiny_model_dir, glue_dir, tmp_path, monkeypatch, caplog):
    from harness.heads import pooled_probes
    from harness.runners import frozen

    cache = FeatureCache(tmp_path / "cache")
    run = dict(tasks=["glue/mrpc"], mode="frozen", data_dir=glue_dir, cache=cache, **FAST)
    first = evaluate(str(tiny_model_dir), output_dir=tmp_path / "a", **run).results[0]
    (record,) = cache.root.glob("search-*.json")
    raw = json.loads(record.read_text())
    scored = next(name for name in raw if name.startswith("cv_"))
    record.write_text(json.dumps({**raw, "C": 1000.0, "layer": "0", scored: 0.99}))  # its hash left as it was

    def no_search(*args, **kwargs):
        raise AssertionError("searched again")

    with monkeypatch.context() as patch:
        patch.setattr(pooled_probes, "_search_c", no_search)
        patch.setattr(frozen, "choose_layer", no_search)
        with caplog.at_level("WARNING", logger="harness"), pytest.raises(AssertionError, match="searched again"):
            evaluate(str(tiny_model_dir), output_dir=tmp_path / "b", **run)
    assert f"feature cache entry {record} fails its integrity check" in caplog.text
    again = evaluate(str(tiny_model_dir), output_dir=tmp_path / "c", **run).results[0]
    assert again.provenance["hyperparameters"]["chosen"] == first.provenance["hyperparameters"]["chosen"]
    assert again.scores == first.scores


def test_inner_cv_folds_never_split_a_group():
    from harness.heads.pooled_probes import _sample, _splits

    groups = np.repeat(np.arange(60), 3)  # a premise and its three hypotheses, as in KLUE-NLI
    y = np.tile([0, 1, 2], 60)
    for stratified in (True, False):
        for train, held_out in _splits(y, groups, 5, seed=7, stratified=stratified):
            assert not set(groups[train]) & set(groups[held_out])
    big = np.repeat(np.arange(5000), 3)
    keep = _sample(np.tile([0, 1, 2], 5000), big, seed=3)
    assert len(keep) == 8000 and np.array_equal(keep, np.sort(keep))
    kept, counts = np.unique(big[keep], return_counts=True)
    assert (counts[:-1] == 3).sum() >= len(kept) - 2  # whole groups, but for the one the cap cuts



def test_frozen_head_search_keeps_the_tasks_groups_together(monkeypatch):
    """KLUE-NLI's premise groups its three hypotheses: the runner hands them to every inner search."""
    from harness.heads import pooled_probes

    seen = []
    real = pooled_probes._splits
    monkeypatch.setattr(pooled_probes, "_splits",
                        lambda y, groups, *a, **k: seen.append(groups) or real(y, groups, *a, **k))
    task = REGISTRY.get("klue/nli")
    assert task.split_groups == "text"  # the premise
    train = [{"id": str(i), "text": f"p{i // 3}", "label": i % 3} for i in range(30)]
    groups = group_ids(task, train)
    rng = np.random.default_rng(0)
    pooled_probes.fit_head(rng.normal(size=(30, 4)), np.array([ex["label"] for ex in train]), False, 0, groups)
    assert seen and all(g is not None and len(np.unique(g)) == 10 for g in seen)


def test_choice_and_span_pair_searches_keep_an_examples_candidates_together():
    """COPA's two candidate pairs share their premise, WSC's examples their sentence: split apart, the inner CV
    scores a head that remembers the premise and chose all-majority heads (WSC) or below-chance ones (COPA)."""
    from harness.shapes.choices import FrozenChoiceRunner, candidate_pairs

    copa = [{"id": str(i), "text": f"premise {i}", "choices": ["a", "b"], "label": [i % 2]} for i in range(4)]
    from harness.flops import PhaseFlops

    extractor = SimpleNamespace(config=RunConfig(), seconds=0.0, extracted=0, cache_hits=0, recalled_flops=0.0,
                                uncounted_hits=0, flops=PhaseFlops(lambda backward: "extraction"))
    runner = FrozenChoiceRunner(REGISTRY.get("superglue/copa"), extractor)
    pairs = candidate_pairs(copa, runner.grouped_by)
    assert list(group_ids(runner.task, pairs)) == [0, 0, 1, 1, 2, 2, 3, 3]
    record = [{"id": "q1", "text": "passage", "choices": ["x", "y"], "label": [0]},
              {"id": "q2", "text": "passage", "choices": ["z"], "label": [0]}]
    assert len(set(group_ids(runner.task, candidate_pairs(record, "text")))) == 1  # ReCoRD: the passage's queries
    wsc = [{"id": str(i), "text": f"sentence {i // 2}", "label": 0} for i in range(4)]
    assert list(group_ids(REGISTRY.get("superglue/wsc"), wsc)) == [0, 0, 1, 1]


def test_inner_cv_ranks_by_mcc_or_f1_where_the_task_is_scored_by_it():
    """On an unbalanced task accuracy favours the L2 that predicts the majority class everywhere (MCC undefined);
    ranked by MCC or F1, the search keeps a head that separates the classes."""
    from harness.heads.pooled_probes import cv_scoring, fit_head

    assert cv_scoring(REGISTRY.get("glue/cola").main_score) == "matthews_corrcoef"
    assert cv_scoring(REGISTRY.get("glue/sst2").main_score) == "accuracy"
    assert cv_scoring(REGISTRY.get("superglue/multirc").main_score) == "f1"  # F1a leads MultiRC's main score
    assert cv_scoring(REGISTRY.get("glue/mrpc").main_score) == "accuracy"  # accuracy leads, F1 second
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.15).astype(int)
    x = rng.normal(size=(400, 30)) + 0.6 * y[:, None] * (np.arange(30) < 3)  # a weak signal in 3 of 30 features
    for scoring in ("matthews_corrcoef", "f1"):
        head, chosen = fit_head(x, y, False, 0, scoring=scoring)
        assert f"cv_{scoring}" in chosen and len(set(head.predict(x))) == 2
