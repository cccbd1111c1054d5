"""SuperGLUE beyond plain pairs: multiple choice (COPA, ReCoRD), span pairs (WiC, WSC), grouped decisions
(MultiRC, AX-g): readers, their errors, the formats' pieces, the metrics, and runs in both modes."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from harness import evaluate
from harness.data.files import read_split
from harness.errors import ConfigError, DataError
from harness.formats import span_pairs
from harness.heads.span_pairs import pool_spans
from harness.shapes.choices import candidate_pairs, pick_choices
from harness.metrics import compute_scores
from harness.metrics.text import compute_answer_scores, normalize_answer, token_f1
from harness.results import read_result
from harness.tasks import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"
COPA, WIC, WSC, MULTIRC, RECORD, AXG = (REGISTRY.get(f"superglue/{name}")
                                        for name in ("copa", "wic", "wsc", "multirc", "record", "axg"))
FAST = dict(quiet=True, device="cpu", batch_size=8, eval_batch_size=16, max_length=48, epochs=2, min_steps=0)


def _write(root: Path, relative: str, records) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return root


# --- metrics -----------------------------------------------------------------------------------------------


def test_multirc_f1a_and_question_exact_match_by_hand():
    # question a: both options right; question b: one of three wrong; question c: its one option right
    predictions, labels = [1, 0, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]
    groups = ["a", "a", "b", "b", "b", "c"]
    scores = compute_scores(["f1a", "em"], predictions, labels, groups=groups)
    assert scores["em"] == pytest.approx(100 * 2 / 3)
    assert scores["f1a"] == pytest.approx(100 * 2 * 3 / (2 * 3 + 1 + 0))  # TP 3, FP 1, FN 0


def test_gender_parity_counts_pairs_predicted_alike():
    predictions, labels = [0, 0, 1, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]
    scores = compute_scores(["gender_parity", "accuracy"], predictions, labels, groups=[7, 7, 8, 8, 9, 9, 3, 3])
    assert scores["gender_parity"] == pytest.approx(75.0)  # pair 8 disagrees
    assert scores["accuracy"] == pytest.approx(100 * 5 / 8)


def test_group_metrics_without_groups_are_refused():
    with pytest.raises(ConfigError, match="em score groups of examples"):
        compute_scores(["em"], [1, 0], [1, 0])


def test_answer_metrics_normalise_like_squad_and_take_the_best_gold():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert token_f1("the big red barn", "a red barn") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    scores = compute_answer_scores(["exact_match", "token_f1"], ["Ida Rask", "Mars"],
                                   [["ida rask."], ["Jupiter", "planet Mars"]])
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["token_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)  # "Mars" vs "planet Mars": P 1, R 1/2


def test_answers_that_share_no_token_score_f1_zero_even_when_both_normalise_to_nothing():
    # The official ReCoRD / SQuAD v1.1 rule: F1 is 0 whenever the token bags share no token, so "The"
    # against "a" (both "" after dropping articles) is an exact match with F1 0.
    scores = compute_answer_scores(["exact_match", "token_f1"], ["The"], [["a"]])
    assert scores == {"exact_match": 100.0, "token_f1": 0.0}


# --- readers -----------------------------------------------------------------------------------------------


def test_copa_appends_the_question_and_keeps_both_alternatives(tmp_path):
    rows = [{"premise": "The man fell.", "choice1": "He slipped.", "choice2": "He sang.", "question": "cause",
             "label": 0, "idx": 3}]
    example = read_split(COPA, "validation", _write(tmp_path, "superglue/COPA/val.jsonl", rows)).examples[0]
    assert example["text"] == "The man fell. What was the cause?"
    assert example["choices"] == ["He slipped.", "He sang."] and example["label"] == [0]


def test_wic_spans_are_the_target_word_in_each_sentence(tmp_path):
    rows = [{"word": "bank", "sentence1": "A river bank.", "sentence2": "The bank lends money.", "start1": 8,
             "end1": 12, "start2": 4, "end2": 8, "label": False, "idx": 0}]
    example = read_split(WIC, "validation", _write(tmp_path, "superglue/WiC/val.jsonl", rows)).examples[0]
    assert example["spans"] == [[0, 8, 12], [1, 4, 8]] and example["label"] == 0
    assert example["text"][8:12] == example["text_pair"][4:8] == "bank"


def test_wsc_word_indices_become_character_spans_even_where_the_span_text_differs_in_case(tmp_path):
    rows = [{"text": "the lawyer asked the witness why he lied .", "idx": 0, "label": True,
             "target": {"span1_index": 0, "span1_text": "The lawyer", "span2_index": 6, "span2_text": "he"}}]
    example = read_split(WSC, "validation", _write(tmp_path, "superglue/WSC/val.jsonl", rows)).examples[0]
    (_, s1, e1), (_, s2, e2) = example["spans"]
    assert (example["text"][s1:e1], example["text"][s2:e2]) == ("the lawyer", "he")


def test_multirc_makes_one_example_per_answer_option_grouped_by_question(tmp_path):
    rows = [{"idx": 4, "passage": {"text": "Tom has a red bike.", "questions": [
        {"question": "What colour is the bike?", "idx": 9, "answers": [
            {"text": "Red", "idx": 20, "label": 1}, {"text": "Blue", "idx": 21, "label": 0}]}]}}]
    examples = read_split(MULTIRC, "validation", _write(tmp_path, "superglue/MultiRC/val.jsonl", rows)).examples
    assert [ex["id"] for ex in examples] == ["superglue/MultiRC/val.jsonl#4-9-20", "superglue/MultiRC/val.jsonl#4-9-21"]
    assert [ex["text_pair"] for ex in examples] == ["What colour is the bike? Red", "What colour is the bike? Blue"]
    assert [ex["label"] for ex in examples] == [1, 0] and {ex["group"] for ex in examples} == {"9"}


def test_record_candidates_are_the_query_with_each_entity():
    split = read_split(RECORD, "validation", FIXTURES)
    example = split.examples[0]
    assert example["choice_names"] == ["Nora Blix", "Haldor", "Sven Ekdal"]
    assert example["choices"][2] == "Sven Ekdal said fans would get their money back."
    assert example["label"] == [2] and example["answers"] == ["Sven Ekdal"]
    assert "@highlight" not in example["text"]


def test_axg_pairs_are_groups():
    examples = read_split(AXG, "validation", FIXTURES).examples
    assert len(examples) == 12 and [ex["group"] for ex in examples[:2]] == ["1000", "1000"]


@pytest.mark.parametrize("task, relative, record, message", [
    (COPA, "superglue/COPA/val.jsonl", {"premise": "a", "choice1": "b", "choice2": "c", "question": "why", "label": 0},
     r"val.jsonl:1: question 'why' is not one of cause, effect"),
    (COPA, "superglue/COPA/val.jsonl", {"premise": "a", "choice1": "b", "choice2": "c", "question": "cause", "label": 2},
     r"val.jsonl:1: label 2 is not the index of one of the 2 choices"),
    (WIC, "superglue/WiC/val.jsonl", {"sentence1": "a bank", "sentence2": "bank", "start1": 2, "end1": 9, "start2": 0,
                                      "end2": 4, "label": True}, r"val.jsonl:1: span 1 \(2..9\) is not a non-empty"),
    (WSC, "superglue/WSC/val.jsonl", {"text": "he ran", "label": True, "target": {
        "span1_index": 5, "span1_text": "x", "span2_index": 0, "span2_text": "he"}},
     r"val.jsonl:1: span1_index 5 with 1 word\(s\) \('x'\) lies outside the text of 2 words"),
    (WSC, "superglue/WSC/val.jsonl", {"text": "he ran", "label": True, "target": {"span1_index": 0}},
     r"val.jsonl:1: field 'target.span1_text' is missing"),
    (MULTIRC, "superglue/MultiRC/val.jsonl", {"idx": 0, "passage": {"text": "t", "questions": [
        {"question": "q", "idx": 0, "answers": [{"idx": 0, "label": 1}]}]}},
     r"val.jsonl:1: question 0, answer 0: field 'text' is missing"),
    (RECORD, "superglue/ReCoRD/val.jsonl", {"idx": 0, "passage": {"text": "Ann met Bo.", "entities": [
        {"start": 0, "end": 2}, {"start": 8, "end": 9}]}, "qas": [
        {"query": "@placeholder smiled.", "idx": 0, "answers": [{"start": 8, "end": 9, "text": "Ann"}]}]},
     r"val.jsonl:1: query 0, answer 0: text 'Ann' but the passage at 8..9 reads 'Bo'"),
    (RECORD, "superglue/ReCoRD/val.jsonl", {"idx": 0, "passage": {"text": "Ann met Bo.", "entities": [
        {"start": 0, "end": 20}]}, "qas": []}, r"val.jsonl:1: entity 0: 0..20 lies outside the passage of 11"),
])
def test_malformed_records_name_file_line_and_field(tmp_path, task, relative, record, message):
    with pytest.raises(DataError, match=message):
        read_split(task, "validation", _write(tmp_path, relative, [record]))


# --- formats -----------------------------------------------------------------------------------------------


def test_candidate_pairs_and_picking_the_best_per_example():
    examples = [{"id": "a", "text": "p", "choices": ["x", "y"], "label": [1]},
                {"id": "b", "text": "q", "choices": ["u", "v", "w"], "label": [0, 2]}]
    pairs = candidate_pairs(examples)
    assert [(p["id"], p["text_pair"], p["label"]) for p in pairs] == [
        ("a/0", "x", 0), ("a/1", "y", 1), ("b/0", "u", 1), ("b/1", "v", 0), ("b/2", "w", 1)]
    assert pick_choices(np.array([0.2, 0.7, 0.1, 0.3, 0.9]), examples).tolist() == [1, 2]


def test_span_positions_are_the_tokens_over_each_span(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    example = {"text": "the dog runs", "text_pair": "a cat sits on the mat", "spans": [[0, 4, 7], [1, 18, 21]],
               "label": 1}
    (feature,), truncated = span_pairs.encode(tokenizer, [example], max_length=32)
    tokens = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert [tokens[i] for i, _ in feature["span_positions"]] == ["dog", "mat"]
    assert [tokens[j] for _, j in feature["span_positions"]] == ["dog", "mat"]
    assert feature["labels"] == 1 and truncated == 0
    (cut,), truncated = span_pairs.encode(tokenizer, [example], max_length=9)  # the pair keeps "a cat sits"
    assert truncated == 1 and cut["span_positions"][1] == [0, 0]


def test_pool_spans_means_each_span_and_multiplies_them():
    hidden = torch.arange(12, dtype=torch.float32).reshape(1, 4, 3)  # token t is [3t, 3t+1, 3t+2]
    pooled = pool_spans(hidden, torch.tensor([[[1, 2], [3, 3]]]))
    first, second = torch.tensor([4.5, 5.5, 6.5]), torch.tensor([9.0, 10.0, 11.0])
    assert torch.equal(pooled[0], torch.cat([hidden[0, 0], first, second, first * second]))


# --- runs on a tiny random BERT: what only the format can get right ----------------------------------------


def _choice_dir(root: Path, n: int = 40) -> Path:
    """COPA-shaped lines where the right alternative always says "good" and the wrong one "bad"."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        right, wrong = "it was good .", "it was bad ."
        label = rng.randrange(2)
        choices = [wrong, right] if label else [right, wrong]
        rows.append({"premise": f"the {rng.choice(['man', 'woman', 'dog'])} sits on the mat .", "choice1": choices[0],
                     "choice2": choices[1], "question": rng.choice(["cause", "effect"]), "label": label, "idx": i})
    return _write(root, "superglue/COPA/val.jsonl", rows)


def test_frozen_multiple_choice_picks_the_right_alternative(tiny_model_dir, tmp_path):
    data = _choice_dir(tmp_path / "data")
    (result,) = evaluate(str(tiny_model_dir), tasks=["superglue/copa"], mode="frozen", data_dir=data,
                         output_dir=tmp_path / "out", split_strategy="holdout", **FAST).results
    assert result.scores["accuracy"] == 100.0 and result.num_eval == 8
    rows = [json.loads(line) for line in (tmp_path / "out").rglob("predictions.jsonl").__next__().open()]
    assert all(row["prediction_name"] == "it was good ." for row in rows)


def _span_dir(root: Path, n: int = 48) -> Path:
    """WiC-shaped lines whose label is which of two words the first span points at: the same sentences
    take both labels, so only the span's tokens can tell them apart."""
    rng = random.Random(1)
    rows = []
    for i in range(n):
        sentence = "the movie was good but the plot was bad"
        label = rng.randrange(2)
        start = sentence.index("good") if label else sentence.index("bad")
        rows.append({"word": "x", "sentence1": sentence, "sentence2": "a dog sits on the mat", "start1": start,
                     "end1": start + (4 if label else 3), "start2": 2, "end2": 5, "label": bool(label), "idx": i})
    return _write(root, "superglue/WiC/val.jsonl", rows)


def test_frozen_span_pairs_read_the_spans_not_only_the_sentence(tiny_model_dir, tmp_path):
    (result,) = evaluate(str(tiny_model_dir), tasks=["superglue/wic"], mode="frozen", data_dir=_span_dir(tmp_path),
                         output_dir=tmp_path / "out", split_strategy="holdout", **FAST).results
    assert result.scores["accuracy"] == 100.0
    assert result.provenance["hyperparameters"]["chosen"]["layer"]  # every state's spans, one chosen on train


def test_frozen_span_pairs_pool_each_hidden_state_as_that_state_alone():
    from harness.runners.frozen_tokens import FrozenSpanPairRunner

    tokens = torch.randn(3, 9, 4, 5)  # examples, tokens, hidden states, width
    positions = torch.tensor([[[1, 2], [4, 6]], [[2, 2], [3, 8]], [[1, 5], [6, 7]]])
    every = FrozenSpanPairRunner.pool_every_state(tokens, positions)
    assert every.shape == (3, 4, 20)
    for state in range(4):
        torch.testing.assert_close(every[:, state], pool_spans(tokens[:, :, state], positions))


@pytest.mark.parametrize("task, make", [("superglue/wic", _span_dir), ("superglue/copa", _choice_dir)])
def test_fine_tuning_runs_and_reports_the_new_heads(tiny_model_dir, tmp_path, task, make):
    (result,) = evaluate(str(tiny_model_dir), tasks=[task], mode="finetune", data_dir=make(tmp_path / "data"),
                         output_dir=tmp_path / "out", split_strategy="holdout", **FAST).results
    assert 0.0 <= result.scores["accuracy"] <= 100.0 and result.timings["trainable_parameters"] > 0
    saved = read_result(next((tmp_path / "out").rglob("result.json")))
    assert saved.scores == result.scores


def test_multirc_scores_f1a_and_em_over_questions_in_both_modes(tiny_model_dir, tmp_path):
    rows = []
    for p in range(10):
        questions = [{"question": "is it good ?", "idx": 10 * p + q, "answers": [
            {"text": "it was good", "idx": 100 * p + 10 * q, "label": 1},
            {"text": "it was bad", "idx": 100 * p + 10 * q + 1, "label": 0}]} for q in range(2)]
        rows.append({"idx": p, "passage": {"text": f"the film {p} was good .", "questions": questions}})
    data = _write(tmp_path / "data", "superglue/MultiRC/val.jsonl", rows)
    results = evaluate(str(tiny_model_dir), tasks=["superglue/multirc"], mode="both", data_dir=data,
                       output_dir=tmp_path / "out", split_strategy="holdout", **FAST).results
    frozen = next(r for r in results if r.mode == "frozen")
    assert frozen.scores == {"f1a": 100.0, "em": 100.0}
    assert frozen.num_eval % 4 == 0  # whole paragraphs (2 questions x 2 options) went to evaluation
    row = json.loads(next((tmp_path / "out").rglob("predictions.jsonl")).open().readline())
    assert "group" in row


def test_record_runs_end_to_end_in_both_modes_on_the_fixture_files(tiny_model_dir, tmp_path):
    results = evaluate(str(tiny_model_dir), tasks=["superglue/record"], mode="both", data_dir=FIXTURES,
                       output_dir=tmp_path / "out", **FAST).results
    assert [r.mode for r in results] == ["frozen", "finetune"]
    for result in results:
        assert set(result.scores) == {"token_f1", "exact_match"} and result.num_eval == 4
        assert result.scores["exact_match"] <= result.scores["token_f1"]


def test_axg_is_scored_with_the_rte_model_in_both_modes(tiny_model_dir, tmp_path):
    rng = random.Random(2)
    rte = [{"premise": f"the {rng.choice(['man', 'woman'])} plays guitar .", "hypothesis": "it was good .",
            "label": rng.choice(["entailment", "not_entailment"]), "idx": i} for i in range(24)]
    data = _write(tmp_path / "data", "superglue/RTE/train.jsonl", rte[:16])
    _write(data, "superglue/RTE/val.jsonl", rte[16:])
    _write(data, "superglue/AX-g/AX-g.jsonl", (FIXTURES / "superglue/AX-g/AX-g.jsonl").read_text().splitlines(True))
    results = evaluate(str(tiny_model_dir), tasks=["superglue/axg"], mode="both", data_dir=data,
                       output_dir=tmp_path / "out", **FAST).results
    assert [(r.task, r.mode) for r in results] == [("rte", "frozen"), ("axg", "frozen"), ("rte", "finetune"),
                                                   ("axg", "finetune")]
    for result in results[1::2]:
        assert set(result.scores) == {"gender_parity", "accuracy"} and result.num_eval == 12
