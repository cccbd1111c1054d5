"""--layers is parsed and checked against the model's config before any forward pass (issue 26, item 11)."""
from __future__ import annotations

import pytest

from harness import evaluate
from harness.errors import ConfigError
from harness.runners import features
from harness.runners.features import FeatureCache


@pytest.fixture
def no_forward_pass(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the encoder was loaded before --layers was checked")
    monkeypatch.setattr(features, "load_model", refused)


@pytest.mark.parametrize("layers, why", [
    ("99", "has 3 hidden states"), ("last99-concat", "has 3 hidden states"), ("-100", "has 3 hidden states"),
    ("3", "use an index from -3 to 2"), ("-4", "has 3 hidden states"), ("top2", "not understood"),
])
def test_a_layer_the_model_lacks_is_refused_before_any_feature_is_extracted(tiny_model_dir, glue_dir, tmp_path,
                                                                             no_forward_pass, layers, why):
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(ConfigError, match=f"--layers '{layers}'.*{why}"):
        evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir, output_dir=tmp_path / "r",
                 cache=cache, layers=layers, quiet=True)
    assert not any((tmp_path / "cache").rglob("*.npy"))


def test_mix_on_a_pooled_task_is_refused_before_any_feature_is_extracted(tiny_model_dir, glue_dir, tmp_path,
                                                                         no_forward_pass):
    with pytest.raises(ConfigError, match="--layers mix .* pooled heads of glue/sst2 .* --layers best"):
        evaluate(str(tiny_model_dir), tasks=["sst2"], mode="both", data_dir=glue_dir, output_dir=tmp_path / "r",
                 cache=FeatureCache(tmp_path / "cache"), layers="mix", quiet=True)


def test_the_last_hidden_state_by_index_is_accepted(tiny_model_dir, glue_dir, tmp_path):
    (result,) = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir,
                         output_dir=tmp_path / "r", cache=FeatureCache(tmp_path / "cache"), layers="2", quiet=True,
                         max_train_samples=32, max_eval_samples=16).results
    assert result.provenance["hyperparameters"]["layers"] == "2"
