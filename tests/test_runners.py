"""Frozen features (bucketing, cache) and both runners on a tiny random BERT."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.config import RunConfig
from harness.data.splits import load_splits, plan_splits
from harness.formats.n21 import length_buckets, tokenize
from harness.heads.pooled_probes import head_parameters
from harness.models import load_model, load_tokenizer, pool, resolve_model
from harness.runners.features import FeatureCache, FeatureExtractor, extract_features
from harness.runners.finetune import FinetuneRunner
from harness.runners.frozen import FrozenRunner
from harness.tasks import REGISTRY

EXAMPLES = [
    {"id": str(i), "text": text, "label": i % 2}
    for i, text in enumerate(["good", "the movie was very good .", "bad", "the plot is not great , really poor .",
                              "a dog sits on the mat", "fine"])
]


def test_length_buckets_group_similar_lengths_and_cover_everything():
    features = [{"input_ids": [0] * n} for n in (5, 1, 9, 3, 7, 2)]
    buckets = length_buckets(features, batch_size=2)
    assert buckets == [[1, 5], [3, 0], [4, 2]]
    assert sorted(i for b in buckets for i in b) == list(range(6))


@pytest.mark.parametrize("pooling,layers", [("mean", "last"), ("cls", "-2"), ("mean", "last2-concat")])
def test_bucketed_extraction_equals_one_by_one_forward(tiny_model_dir, pooling, layers):
    ref = resolve_model(str(tiny_model_dir))
    model, tokenizer = load_model(ref), load_tokenizer(ref)
    got = extract_features(model, tokenizer, EXAMPLES, max_length=16, batch_size=4, pooling=pooling,
                           layers=layers, device="cpu", quiet=True)
    expected = []
    with torch.inference_mode():
        for ex in EXAMPLES:  # no padding at all: the reference
            batch = tokenizer([ex["text"]], return_tensors="pt")
            hidden = model(**batch, output_hidden_states=True).hidden_states
            expected.append(pool(hidden, batch["attention_mask"], pooling, layers)[0].numpy())
    width = 64 if layers.endswith("concat") else 32
    assert got.shape == (len(EXAMPLES), width)
    np.testing.assert_allclose(got, np.stack(expected), atol=1e-5)


def test_second_identical_extraction_is_served_from_cache(tiny_model_dir, tmp_path):
    ref = resolve_model(str(tiny_model_dir))
    config = RunConfig(quiet=True)
    first = FeatureExtractor(ref, config, FeatureCache(tmp_path))
    a = first.features(REGISTRY.get("glue/sst2"), EXAMPLES, "train")
    assert first.extracted == len(EXAMPLES) and first.cache_hits == 0
    assert len(list(tmp_path.glob("*.npy"))) == 1

    second = FeatureExtractor(ref, config, FeatureCache(tmp_path))
    b = second.features(REGISTRY.get("glue/sst2"), EXAMPLES, "train")
    assert second.extracted == 0 and second.cache_hits == 1
    assert second._encoder is None  # weights never loaded
    np.testing.assert_array_equal(a, b)

    other = FeatureExtractor(ref, config.replace(pooling="cls"), FeatureCache(tmp_path))
    other.features(REGISTRY.get("glue/sst2"), EXAMPLES, "train")
    assert other.extracted == len(EXAMPLES)  # a different pooling is a different key


def test_cache_files_load_without_pickle(tiny_model_dir, tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(np.load(cache.path("k"), allow_pickle=False), cache.get("k"))
    assert not list(tmp_path.glob("*.tmp"))


def test_frozen_runner_learns_a_separable_task(tiny_model_dir, glue_dir):
    task = REGISTRY.get("glue/sst2")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1)
    runner = FrozenRunner(task, FeatureExtractor(resolve_model(str(tiny_model_dir)), RunConfig(quiet=True)))
    runner.fit(plan.folds[0].train)
    predictions = runner.predict(plan.folds[0].eval)
    labels = np.array([ex["label"] for ex in plan.folds[0].eval])
    assert predictions.dtype.kind == "i" and predictions.shape == labels.shape
    assert runner.trainable_parameters == 32 + 1  # one logistic-regression weight per feature, one bias
    assert runner.trainable_parameters == head_parameters(runner.head)


def test_frozen_cosine_is_a_cosine(tiny_model_dir, glue_dir):
    task = REGISTRY.get("glue/stsb")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1)
    runner = FrozenRunner(task, FeatureExtractor(resolve_model(str(tiny_model_dir)), RunConfig(quiet=True)))
    same = [{"id": "x", "text": "the film was good .", "text_pair": "the film was good .", "label": 5.0}]
    np.testing.assert_allclose(runner.cosine_similarity(same), [1.0], atol=1e-6)
    values = runner.cosine_similarity(plan.folds[0].eval)
    assert values.shape == (len(plan.folds[0].eval),) and np.all(np.abs(values) <= 1 + 1e-6)


def test_finetune_runner_trains_predicts_in_order_and_counts_parameters(tiny_model_dir, glue_dir, tmp_path):
    task = REGISTRY.get("glue/sst2")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1)
    config = RunConfig(epochs=8, min_steps=0, learning_rate=3e-3, batch_size=8, eval_batch_size=5, quiet=True, device="cpu")
    runner = FinetuneRunner(task, resolve_model(str(tiny_model_dir)), config, tmp_path / "checkpoints")
    runner.fit(plan.folds[0].train)
    predictions = runner.predict(plan.folds[0].eval)
    labels = np.array([ex["label"] for ex in plan.folds[0].eval])
    # The toy task is separable by one word; if predictions came back shuffled against their
    # examples (as transformers' length-grouped eval sampler would do), accuracy would sit near 50%.
    assert (predictions == labels).mean() >= 0.9
    assert runner.trainable_parameters == sum(p.numel() for p in runner.model.parameters())
    assert any((tmp_path / "checkpoints").glob("checkpoint-*"))


def test_a_finetune_that_keeps_no_checkpoints_writes_none(tiny_model_dir, glue_dir, tmp_path):
    """The learning-rate search's short runs: nothing resumes them, so nothing is written for a resume."""
    task = REGISTRY.get("glue/sst2")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1, max_train_samples=16)
    config = RunConfig(epochs=2, min_steps=0, learning_rate=1e-4, batch_size=8, checkpoint_minutes=0, quiet=True,
                       device="cpu")
    runner = FinetuneRunner(task, resolve_model(str(tiny_model_dir)), config, tmp_path / "checkpoints")
    runner.keeps_checkpoints = False
    runner.fit(plan.folds[0].train)
    assert runner.train_steps == 4 and not list((tmp_path / "checkpoints").glob("*/**"))
    assert not (tmp_path / "checkpoints" / "settings.json").exists()


def test_finetune_regression_head_outputs_scores(tiny_model_dir, glue_dir, tmp_path):
    task = REGISTRY.get("glue/stsb")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1, max_train_samples=16)
    runner = FinetuneRunner(task, resolve_model(str(tiny_model_dir)), RunConfig(epochs=1, min_steps=0, learning_rate=1e-4, quiet=True),
                            tmp_path)
    runner.fit(plan.folds[0].train)
    predictions = runner.predict(plan.folds[0].eval)
    assert predictions.dtype == np.float32 or predictions.dtype == np.float64
    assert predictions.shape == (len(plan.folds[0].eval),)
    assert runner.model.config.problem_type == "regression" and runner.model.config.num_labels == 1


def test_tokenize_keeps_pairs_and_labels(tiny_model_dir):
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    features = tokenize(tokenizer, [{"id": "1", "text": "good", "text_pair": "bad", "label": 1}], max_length=8)
    assert features[0]["labels"] == 1
    assert features[0]["token_type_ids"] == [0, 0, 0, 1, 1]  # [CLS] good [SEP] bad [SEP]


def test_mlp_head_trains_on_cached_features(tiny_model_dir, glue_dir):
    task = REGISTRY.get("glue/sst2")
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1)
    runner = FrozenRunner(task, FeatureExtractor(resolve_model(str(tiny_model_dir)), RunConfig(head="mlp", quiet=True)))
    runner.fit(plan.folds[0].train)
    assert runner.predict(plan.folds[0].eval).shape == (len(plan.folds[0].eval),)
    assert runner.trainable_parameters == 32 * 256 + 256 + 256 * 1 + 1  # one hidden layer, one logit (binary)


def test_same_seed_gives_the_same_initial_head(tiny_model_dir, tmp_path):
    import torch as _torch

    task = REGISTRY.get("glue/sst2")
    ref = resolve_model(str(tiny_model_dir))
    _torch.manual_seed(1)
    first = FinetuneRunner(task, ref, RunConfig(seed=7, quiet=True), tmp_path / "a").model.classifier.weight
    _torch.manual_seed(2)  # whatever state the process is in
    second = FinetuneRunner(task, ref, RunConfig(seed=7, quiet=True), tmp_path / "b").model.classifier.weight
    other = FinetuneRunner(task, ref, RunConfig(seed=8, quiet=True), tmp_path / "c").model.classifier.weight
    assert _torch.equal(first, second) and not _torch.equal(first, other)


@pytest.mark.parametrize("pooling, kind", [("mean", "glue/sst2"), ("cls", "glue/stsb")])
def test_finetune_pooling_trains_the_frozen_modes_pooling_under_a_linear_layer(tiny_model_dir, glue_dir, tmp_path,
                                                                               pooling, kind):
    from harness.heads.pooled_classifier import PooledClassifier

    task = REGISTRY.get(kind)
    plan = plan_splits(task, load_splits(task, glue_dir), "official", seed=1)
    config = RunConfig(epochs=8, min_steps=0, learning_rate=3e-3, batch_size=8, eval_batch_size=5, quiet=True, device="cpu",
                       finetune_pooling=pooling)
    runner = FinetuneRunner(task, resolve_model(str(tiny_model_dir)), config, tmp_path / "checkpoints")
    assert isinstance(runner.model, PooledClassifier) and runner.model.pooling == pooling
    assert runner.model.classifier.out_features == task.num_labels
    runner.fit(plan.folds[0].train)
    predictions = runner.predict(plan.folds[0].eval)
    labels = np.array([ex["label"] for ex in plan.folds[0].eval])
    if task.kind == "classification":
        assert (predictions == labels).mean() >= 0.9
    else:
        assert predictions.dtype == float and predictions.shape == labels.shape
