"""The tokenizer's fit to a task's texts: measured by tokenizing, recorded with every run, warned of before compute."""
from __future__ import annotations

import logging

import pytest
from transformers import AutoTokenizer

from conftest import build_korean_bert
from harness import evaluate
from harness.runners import features as features_module
from harness.tokenizer_fit import WARN_WHEN, tokenizer_fit
from test_klue_ner import fixture_sentences, plain

PAIR = ("text", "text_pair")


@pytest.fixture(scope="module")
def korean_pairs() -> list[dict]:
    sentences = [plain(s) for s in fixture_sentences(120, seed=3)]
    return [{"id": str(i), "text": a, "text_pair": b, "label": 0}
            for i, (a, b) in enumerate(zip(sentences[::2], sentences[1::2]))]


@pytest.fixture(scope="module")
def korean_tokenizer(tmp_path_factory, korean_pairs):
    texts = [ex[side] for ex in korean_pairs for side in PAIR]
    return AutoTokenizer.from_pretrained(build_korean_bert(tmp_path_factory.mktemp("korean"), texts, merges=400))


def test_an_english_vocabulary_on_korean_warns_and_a_korean_one_does_not(tiny_model_dir, korean_pairs,
                                                                         korean_tokenizer):
    english = tokenizer_fit(AutoTokenizer.from_pretrained(tiny_model_dir), korean_pairs, PAIR, 128)
    assert english["unknown_share"] > 0.8  # every Korean word is unknown to a vocabulary of English words
    assert "unknown" in english["warning"] and english["warning"].count("\n") == 0
    korean = tokenizer_fit(korean_tokenizer, korean_pairs, PAIR, 128)
    assert korean["unknown_share"] == 0.0 and korean["truncated_share"] == 0.0
    assert korean["tokens_per_word"] < WARN_WHEN["tokens_per_word"] and korean["warning"] is None


def test_the_real_tokenizers_on_korean(minilm_dir, e5_dir, korean_pairs):
    """An English uncased vocabulary splits Korean syllables into jamo and [UNK]s; the multilingual one does not."""
    minilm = tokenizer_fit(AutoTokenizer.from_pretrained(minilm_dir), korean_pairs, PAIR, 128)
    e5 = tokenizer_fit(AutoTokenizer.from_pretrained(e5_dir), korean_pairs, PAIR, 128)
    assert minilm["warning"] is not None and minilm["tokens_per_word"] > WARN_WHEN["tokens_per_word"]
    assert e5["warning"] is None and e5["tokens_per_word"] < minilm["tokens_per_word"] / 2


def test_counts_match_a_hand_count(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    examples = [{"id": "0", "text": "the movie was good", "text_pair": "a dog"},  # 6 words, 6 tokens
                {"id": "1", "text": "the zebra was good", "text_pair": "cat"}]  # 5 words, "zebra" one [UNK]
    fit = tokenizer_fit(tokenizer, examples, PAIR, max_length=8)
    assert fit["tokens_per_word"] == 1.0 and fit["unknown_share"] == pytest.approx(1 / 11, abs=1e-6)  # of 11 tokens
    # [CLS] 4 [SEP] 2 [SEP] = 9 > 8 and [CLS] 4 [SEP] 1 [SEP] = 8: one pair cut; alone, the sides are 6 and 4 or 3
    assert fit["truncated_share"] == 0.5 and fit["truncated_share_by_side"] == {"text": 0.0, "text_pair": 0.0}
    assert "cut at --max-length 8" in fit["warning"]
    assert tokenizer_fit(tokenizer, examples, ("text",), 5)["truncated_share_by_side"] == {}
    assert tokenizer_fit(tokenizer, examples, ("question",), 8) is None  # no such text


def test_a_run_warns_before_compute_and_records_the_fit(tiny_model_dir, glue_dir, tmp_path, caplog, monkeypatch):
    warned_before = []
    extract = features_module.extract_features

    def extract_after_the_warning(*args, **kwargs):  # the first forward pass: has the warning been given?
        warned_before.append(any("tokenizer fits" in r.getMessage() for r in caplog.records))
        return extract(*args, **kwargs)

    monkeypatch.setattr(features_module, "extract_features", extract_after_the_warning)
    with caplog.at_level(logging.WARNING, logger="harness"):
        result, = evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="frozen", data_dir=glue_dir,
                           output_dir=tmp_path, quiet=True, device="cpu", max_length=6).results
    fit = result.tokenizer_fit
    assert fit["unknown_share"] == 0.0 and fit["truncated_share"] > WARN_WHEN["truncated_share"]
    assert [r.getMessage() for r in caplog.records if "tokenizer fits" in r.getMessage()] == [
        f"glue/sst2: {fit['warning']}"]
    assert warned_before and all(warned_before)
