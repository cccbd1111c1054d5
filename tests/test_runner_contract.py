"""The one runner contract: every shape's runners fulfil it, its defaults hold, and api.py reads nothing else."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import harness.api
from harness.config import RunConfig
from harness.data.splits import load_splits, plan_splits
from harness.models import resolve_model
from harness.runners.base import PHASES, Runner
from harness.runners.features import FeatureCache, FeatureExtractor
from harness.runners.frozen import FrozenRunner
from harness.shapes import get_shape, shape_names
from harness.tasks import REGISTRY


@pytest.mark.parametrize("name", shape_names())
def test_every_shapes_two_runners_fulfil_the_contract_in_their_mode(name):
    shape = get_shape(name)
    assert issubclass(shape.frozen_runner, Runner) and shape.frozen_runner.mode == "frozen"
    assert issubclass(shape.finetune_runner, Runner) and shape.finetune_runner.mode == "finetune"


class Constant(Runner):
    """A runner with nothing optional: it predicts 0 and trains nothing."""

    mode = "finetune"

    def fit(self, train):
        with self.timed("training_s"):
            pass

    def predict(self, examples, split="eval"):
        return np.zeros(len(examples), int)

    @property
    def trainable_parameters(self):
        return 0

    @property
    def fingerprint(self):
        return {"weights_sha256": "0"}


def test_a_runner_without_optional_features_reports_the_defaults():
    runner = Constant()
    runner.fit([{"id": "a"}])
    assert runner.truncated == 0 and runner.resumed_from_step is None
    assert list(runner.timings) == list(PHASES) and runner.timings["training_s"] >= 0
    assert runner.timings["evaluation_s"] == runner.timings["extraction_s"] == 0
    extra = runner.extra_scores([{"id": "a"}])
    assert dict(extra) == {} and extra.per_example == {} and extra.signatures == {} and extra.flags == []


def test_a_runner_missing_part_of_the_contract_cannot_be_built():
    class NoFingerprint(Runner):
        mode = "frozen"

        def fit(self, train):
            pass

        def predict(self, examples, split="eval"):
            return []

        @property
        def trainable_parameters(self):
            return 0

    with pytest.raises(TypeError, match="fingerprint"):
        NoFingerprint()


def test_frozen_similarity_runner_adds_the_cosine_and_others_add_nothing(tiny_model_dir, glue_dir, tmp_path):
    extractor = FeatureExtractor(resolve_model(str(tiny_model_dir)), RunConfig(quiet=True), FeatureCache(tmp_path))
    stsb = REGISTRY.get("glue/stsb")
    examples = plan_splits(stsb, load_splits(stsb, glue_dir), "official", seed=1).folds[0].eval
    runner = FrozenRunner(stsb, extractor)
    extra = runner.extra_scores(examples)
    assert set(extra) == {"cosine_pearson", "cosine_spearman"}
    np.testing.assert_allclose(extra.per_example["cosine"], runner.cosine_similarity(examples))
    assert runner.timings["extraction_s"] > 0 and runner.fingerprint == extractor.fingerprint
    assert FrozenRunner(REGISTRY.get("glue/sst2"), extractor).extra_scores(examples) == {}


def test_api_reads_runners_and_scores_through_the_contract_only():
    source = Path(harness.api.__file__).read_text(encoding="utf-8")
    assert "getattr(" not in source and "hasattr(" not in source
    assert not re.search(r"\.similarity\b|cosine", source)  # the frozen cosine is the runner's extra score
