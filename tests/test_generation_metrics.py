"""Generation metrics: parity with sacrebleu and bert-score called directly, ROUGE-L by hand, notes for what
could not be done as asked (ko-mecab missing, no rescaling baseline)."""
from __future__ import annotations

import dataclasses
import random

import pytest
import sacrebleu
import torch

from harness.errors import ConfigError, DataError
from harness.metrics.generation import (GenerationSettings, bertscore, bleu, bleu_tokenizer, chrf,
                                        compute_generation_scores, rouge_l)

WORDS = "the a cat dog sat ran on under mat table quickly slowly red big small".split()


def _pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    predictions, references = [], []
    for _ in range(n):
        length = rng.choice([1, 2, 5, 12, 30])  # very different lengths
        references.append(" ".join(rng.choice(WORDS) for _ in range(length)))
        predictions.append(" ".join(rng.choice(WORDS) for _ in range(rng.choice([1, 3, 8, 25]))))
    return predictions, references


def test_bleu_and_chrf_equal_sacrebleu_corpus_scores():
    predictions, references = _pairs(200)
    assert bleu(predictions, references)["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(predictions, [references]).score, abs=1e-12)
    assert chrf(predictions, references)["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(predictions, [references]).score, abs=1e-12)
    assert bleu(predictions, references).signatures["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")


def test_several_references_pad_with_the_first_which_changes_nothing():
    predictions = ["the cat sat on the mat", "a dog ran"]
    ragged = [["the cat sat on a mat", "a cat sat on the mat"], ["the dog ran"]]
    padded_streams = [["the cat sat on a mat", "the dog ran"], ["a cat sat on the mat", "the dog ran"]]
    assert bleu(predictions, ragged)["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(predictions, padded_streams).score, abs=1e-12)


def test_rouge_l_by_hand_and_for_korean_by_whitespace():
    # LCS of "the cat sat" and "the cat on the mat" is "the cat": P 2/3, R 2/5, F 2PR/(P+R) = 0.5
    assert rouge_l(["the cat sat"], ["the cat on the mat"])["rouge_l"] == pytest.approx(50.0)
    # rouge-score's own tokenizer drops Hangul; split on whitespace it scores the shared word
    korean = rouge_l(["서울 에 간다"], [["부산 에 간다", "서울"]], language="ko")
    assert korean["rouge_l"] == pytest.approx(100 * 2 / 3)  # best reference: 2 of 3 words both ways
    assert "whitespace" in korean.signatures["rouge_l"]


def test_korean_bleu_falls_back_to_characters_with_a_note(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mecab_ko" else real(name, *a))
    tokenizer, notes = bleu_tokenizer("ko")
    assert tokenizer == "char" and "pip install 'harness[ko]'" in notes[0]
    assert bleu_tokenizer("en") == ("13a", [])


def test_korean_bleu_with_mecab_equals_sacrebleu_ko_mecab():
    import importlib.util

    if importlib.util.find_spec("mecab_ko") is None:
        pytest.skip("MeCab-ko is not installed (pip install 'harness[ko]')")
    predictions, references = ["서울에 갑니다", "오늘 날씨가 좋다"], ["서울에 갔습니다", "오늘은 날씨가 좋다"]
    result = bleu(predictions, references, language="ko")
    assert "tok:ko-mecab" in result.signatures["bleu"] and result.notes == []
    assert result["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(predictions, [references], tokenize="ko-mecab").score, abs=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(DataError, match="2 generations for 1 examples"):
        bleu(["a", "b"], ["a"])
    with pytest.raises(DataError, match="example 0 has no reference"):
        chrf(["a"], [[]])
    with pytest.raises(ConfigError, match="unknown generation metric"):
        compute_generation_scores(["meteor"], ["a"], ["a"], GenerationSettings())
    with pytest.raises(ConfigError, match="--bertscore-model"):
        bertscore(["a"], ["a"], GenerationSettings())


def test_bertscore_equals_bert_score_on_shuffled_pairs_of_very_different_lengths(tiny_model_dir):
    from bert_score import score

    predictions, references = _pairs(120, seed=1)
    order = list(range(len(predictions)))
    random.Random(2).shuffle(order)
    predictions, references = [predictions[i] for i in order], [references[i] for i in order]
    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=2, batch_size=16)
    ours = bertscore(predictions, references, settings)
    precision, recall, f1 = score(predictions, references, model_type=str(tiny_model_dir), num_layers=2,
                                  batch_size=16, device="cpu")
    assert ours["bertscore_f1"] == pytest.approx(100 * float(f1.mean()), abs=1e-5)
    assert ours["bertscore_precision"] == pytest.approx(100 * float(precision.mean()), abs=1e-5)
    assert ours["bertscore_recall"] == pytest.approx(100 * float(recall.mean()), abs=1e-5)
    # every pair keeps its own score: alone, pair 7 scores what it scored among the 120
    alone = bertscore(predictions[7:8], references[7:8], settings)["bertscore_f1"]
    assert alone == pytest.approx(100 * float(f1[7]), abs=1e-4)


@pytest.mark.parametrize("options", [{}, {"idf": True}, {"rescale": True}, {"idf": True, "several_references": True}],
                         ids=["plain", "idf", "rescaled", "idf-several-references"])
def test_every_pair_scores_what_bert_score_gives_it(tiny_model_dir, tmp_path, options):
    """Precision, recall and F1 of each pair within 1e-5 of bert_score.score's on the same model and layer, with
    idf weights, baseline rescaling and several references per candidate (each score the best over them)."""
    from bert_score import score

    from harness.metrics.bertscorer import LoadedScorer
    from harness.models import resolve_model

    predictions, references = _pairs(90, seed=3)
    if options.get("several_references"):
        extra = _pairs(90, seed=4)[1]
        references = [[r, e] if i % 3 else [r] for i, (r, e) in enumerate(zip(references, extra))]
    baseline = None
    if options.get("rescale"):
        baseline = tmp_path / "baseline.tsv"
        baseline.write_text("LAYER,P,R,F\n0,0.5,0.5,0.5\n1,0.55,0.6,0.58\n2,0.7,0.65,0.66\n", encoding="utf-8")
    expected = torch.stack(score(predictions, references, model_type=str(tiny_model_dir), num_layers=2, batch_size=7,
                                 device="cpu", idf=options.get("idf", False), nthreads=0, lang="en",
                                 rescale_with_baseline=baseline is not None,
                                 baseline_path=str(baseline) if baseline else None))
    scorer = LoadedScorer(resolve_model(str(tiny_model_dir)), str(tiny_model_dir), 2, device="cpu", batch_size=16,
                          baseline=str(baseline) if baseline else None)
    grouped = [group if isinstance(group, list) else [group] for group in references]
    idf = scorer.idf_weights([r for group in grouped for r in group]) if options.get("idf") else None
    ours = scorer.score(predictions, grouped, idf)
    assert ours.dtype == torch.float32 and ours.shape == expected.shape == (3, len(predictions))
    assert float((ours - expected).abs().max()) <= 1e-5


def test_bertscore_is_signed_with_bert_scores_hash(tiny_model_dir):
    from bert_score.utils import get_hash

    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=2, bertscore_idf=True)
    signed = bertscore(["the cat sat"], ["a cat sat"], settings).signatures["bertscore_f1"]
    assert signed == get_hash(str(tiny_model_dir), 2, True, False, False, False)
    assert "_L2_idf_version=" in signed


def test_bertscore_in_bf16_is_signed_so_and_stays_close_to_fp32(tiny_model_dir):
    predictions, references = _pairs(40, seed=5)
    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=2)
    fp32 = bertscore(predictions, references, settings)
    bf16 = bertscore(predictions, references, dataclasses.replace(settings, precision="bf16"))
    assert bf16.signatures["bertscore_f1"] == fp32.signatures["bertscore_f1"] + "_bf16"
    assert bf16["bertscore_f1"] == pytest.approx(fp32["bertscore_f1"], abs=1.0)  # 0-100 scale
    assert bf16["bertscore_f1"] != fp32["bertscore_f1"]  # it did run in bf16


def test_bertscore_without_a_baseline_file_says_it_is_not_rescaled(tiny_model_dir):
    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=1, bertscore_rescale=True)
    result = bertscore(["the cat sat"], ["a cat sat"], settings)
    assert "not rescaled" in result.notes[0] and result.signatures["bertscore_f1"].endswith("_not-rescaled")


def test_bertscore_rescales_with_a_local_baseline_file(tiny_model_dir, tmp_path):
    plain = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=1)
    raw = bertscore(["the cat sat"], ["a cat sat"], plain)["bertscore_f1"] / 100
    baseline = tmp_path / "baseline.tsv"
    baseline.write_text("LAYER,P,R,F\n0,0.5,0.5,0.5\n1,0.6,0.6,0.6\n2,0.7,0.7,0.7\n", encoding="utf-8")
    rescaled = bertscore(["the cat sat"], ["a cat sat"], GenerationSettings(
        bertscore_model=str(tiny_model_dir), bertscore_layer=1, bertscore_rescale=True,
        bertscore_baseline=str(baseline)))
    assert rescaled.notes == []
    assert rescaled["bertscore_f1"] == pytest.approx(100 * (raw - 0.6) / (1 - 0.6), abs=1e-4)


def test_bertscore_scores_pairs_with_an_empty_side_zero_as_bert_score_does(tiny_model_dir):
    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=2)
    full = bertscore(["the cat sat", "", "a dog", "the mat"], [["a cat sat"], ["the dog"], [""], ["", "the mat"]],
                     settings)["bertscore_f1"]
    alone = [bertscore(["the cat sat"], ["a cat sat"], settings)["bertscore_f1"],
             bertscore(["the mat"], ["the mat"], settings)["bertscore_f1"]]
    assert full == pytest.approx((alone[0] + 0 + 0 + alone[1]) / 4, abs=1e-4)  # empty refs beside others drop out
